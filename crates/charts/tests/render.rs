//! End-to-end rendering tests: hand-built cost series in, SVG and PNG out.

use std::path::PathBuf;

use chrono::NaiveDate;
use costcarve_charts::{
    render_png, render_svg, render_to_file, ChartError, ChartKind, ChartOptions,
};
use costcarve_core::cost::{CostPoint, CostQuery, CostSeries, Dimension, Granularity};
use rust_decimal::Decimal;

const SERVICES: [&str; 12] = [
    "AmazonEC2",
    "AmazonRDS",
    "AmazonS3",
    "AWSDataTransfer",
    "AmazonCloudWatch",
    "AWSLambda",
    "AmazonDynamoDB",
    "AmazonVPC",
    "AmazonECS",
    "AmazonRoute53",
    "awskms",
    "AmazonSNS",
];

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// 3 months (2025-11 to 2026-01) × 12 services, EC2 the largest; `scale`
/// changes the amounts but not the ranking.
fn monthly_by_service(scale: i64) -> CostSeries {
    let mut q = CostQuery::new("acme", d(2025, 11, 1), d(2026, 2, 1));
    q.group_by = vec![Dimension::Service];
    let months = [d(2025, 11, 1), d(2025, 12, 1), d(2026, 1, 1)];
    let mut points = Vec::new();
    for (m, month) in months.iter().enumerate() {
        for (s, service) in SERVICES.iter().enumerate() {
            // 24_000 for EC2 down to ~150 for SNS, growing month on month.
            let base = 24_000_i64 >> s.min(7);
            let cents = (base * 100 - s as i64 * 731) * (10 + m as i64) / 10;
            points.push(CostPoint {
                period: *month,
                keys: vec![service.to_string()],
                amount: Decimal::new(cents * scale, 2),
            });
        }
    }
    CostSeries::new(q, points)
}

/// 30 days of November 2025, ungrouped or by service.
fn daily(grouped: bool) -> CostSeries {
    let mut q = CostQuery::new("acme", d(2025, 11, 1), d(2025, 12, 1));
    q.granularity = Granularity::Daily;
    if grouped {
        q.group_by = vec![Dimension::Service];
    }
    let mut points = Vec::new();
    for day in 1..=30u32 {
        let weekday_bump = if day % 7 < 5 { 40 } else { 0 };
        if grouped {
            for (s, service) in SERVICES.iter().enumerate() {
                points.push(CostPoint {
                    period: d(2025, 11, day),
                    keys: vec![service.to_string()],
                    amount: Decimal::new((800 >> s.min(6)) * 100 + i64::from(day * 37), 2),
                });
            }
        } else {
            points.push(CostPoint {
                period: d(2025, 11, day),
                keys: vec![],
                amount: Decimal::new(i64::from(1_000 + weekday_bump + day * 3) * 100, 2),
            });
        }
    }
    CostSeries::new(q, points)
}

fn by_account() -> CostSeries {
    let mut q = CostQuery::new("acme", d(2025, 11, 1), d(2026, 2, 1));
    q.group_by = vec![Dimension::Account, Dimension::Service];
    let accounts = [
        "111111111111",
        "222222222222",
        "333333333333 (a rather long production account name)",
        "444444444444",
    ];
    let mut points = Vec::new();
    for (a, account) in accounts.iter().enumerate() {
        for month in [d(2025, 11, 1), d(2025, 12, 1)] {
            points.push(CostPoint {
                period: month,
                keys: vec![account.to_string(), "AmazonEC2".into()],
                amount: Decimal::from(9_000 / (a as i64 + 1)),
            });
        }
    }
    CostSeries::new(q, points)
}

fn empty() -> CostSeries {
    let mut q = CostQuery::new("acme", d(2025, 11, 1), d(2026, 2, 1));
    q.group_by = vec![Dimension::Service];
    CostSeries::new(q, Vec::new())
}

fn stacked_opts() -> ChartOptions {
    ChartOptions::new(ChartKind::StackedByService, "Acme Corp — cost by service")
}

/// The fill colour of the legend swatch drawn just before `label`'s text.
fn legend_colour(svg: &str, label: &str) -> String {
    let text_at = svg
        .find(&format!(">\n{label}\n</text>"))
        .or_else(|| svg.find(&format!(">{label}\n</text>")))
        .or_else(|| svg.find(&format!(">{label}</text>")))
        .unwrap_or_else(|| panic!("no text {label:?} in the SVG"));
    let rect_at = svg[..text_at]
        .rfind("<rect")
        .expect("a swatch before the label");
    let rect = &svg[rect_at..text_at];
    let fill_at = rect.find("fill=\"").expect("a fill") + 6;
    rect[fill_at..fill_at + 7].to_string()
}

#[test]
fn stacked_svg_names_the_top_n_other_and_the_months() {
    let series = monthly_by_service(1);
    let svg = render_svg(&series, &stacked_opts()).unwrap();
    assert!(svg.trim_start().starts_with("<svg"), "{}", &svg[..80]);
    assert!(svg.trim_end().ends_with("</svg>"));
    for service in &SERVICES[..8] {
        assert!(svg.contains(service), "{service} missing");
    }
    for service in &SERVICES[8..] {
        assert!(!svg.contains(service), "{service} should be in Other");
    }
    assert!(svg.contains("Other"));
    for month in ["Nov 2025", "Dec 2025", "Jan 2026"] {
        assert!(svg.contains(month), "{month} missing");
    }
    assert!(svg.contains("Acme Corp — cost by service"));
    // Compact currency labels on the axis and in the legend.
    assert!(
        svg.contains("$10k") || svg.contains("$20k"),
        "no $..k label"
    );
    assert_eq!(legend_colour(&svg, "Other"), "#A8A8A8");

    let top3 = render_svg(&series, &stacked_opts().with_top_n(3)).unwrap();
    assert!(top3.contains("AmazonS3") && !top3.contains("AWSDataTransfer"));
}

#[test]
fn a_service_keeps_its_colour_across_series() {
    let a = render_svg(&monthly_by_service(1), &stacked_opts()).unwrap();
    let b = render_svg(&monthly_by_service(3), &stacked_opts().with_size(900, 500)).unwrap();
    let c = render_svg(&daily(true), &ChartOptions::new(ChartKind::DailyLine, "")).unwrap();
    for service in ["AmazonEC2", "AmazonRDS", "AmazonS3"] {
        let colour = legend_colour(&a, service);
        assert_eq!(colour, legend_colour(&b, service), "{service}");
        assert_eq!(colour, legend_colour(&c, service), "{service}");
    }
    assert_ne!(
        legend_colour(&a, "AmazonEC2"),
        legend_colour(&a, "AmazonRDS")
    );
}

#[test]
fn png_is_a_png_of_the_requested_size() {
    let series = monthly_by_service(1);
    for (w, h) in [(1200, 675), (640, 400), (1920, 1080)] {
        let png = render_png(&series, &stacked_opts().with_size(w, h)).unwrap();
        assert_eq!(png[..8], PNG_SIGNATURE);
        let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
        assert_eq!((img.width(), img.height()), (w, h));
    }
}

#[test]
fn rendering_is_deterministic() {
    let series = monthly_by_service(1);
    for kind in [
        ChartKind::StackedByService,
        ChartKind::DailyLine,
        ChartKind::ByAccount,
    ] {
        let opts = ChartOptions::new(kind, "Same every time");
        let svg1 = render_svg(&series, &opts).unwrap();
        let svg2 = render_svg(&series.clone(), &opts.clone()).unwrap();
        assert_eq!(svg1, svg2, "{kind}");
        let png1 = render_png(&series, &opts).unwrap();
        let png2 = render_png(&series.clone(), &opts.clone()).unwrap();
        assert!(png1 == png2, "{kind}: PNGs differ");
    }
    // Also from another thread (no per-thread state in the output).
    let series2 = series.clone();
    let other = std::thread::spawn(move || render_png(&series2, &stacked_opts()).unwrap())
        .join()
        .unwrap();
    assert!(other == render_png(&series, &stacked_opts()).unwrap());
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("costcarve-charts-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn render_to_file_picks_the_format_by_extension() {
    let series = monthly_by_service(1);
    let svg_path = temp_path("chart.svg");
    render_to_file(&series, &stacked_opts(), &svg_path).unwrap();
    assert!(std::fs::read_to_string(&svg_path)
        .unwrap()
        .starts_with("<svg"));
    let png_path = temp_path("chart.PNG");
    render_to_file(&series, &stacked_opts(), &png_path).unwrap();
    assert_eq!(std::fs::read(&png_path).unwrap()[..8], PNG_SIGNATURE);

    let jpg = temp_path("chart.jpg");
    let err = render_to_file(&series, &stacked_opts(), &jpg).unwrap_err();
    assert!(matches!(err, ChartError::UnsupportedExtension { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(".jpg") && msg.contains(".svg") && msg.contains(".png"),
        "{msg}"
    );
    assert!(!jpg.exists());

    let bare = temp_path("chart");
    let msg = render_to_file(&series, &stacked_opts(), &bare)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no extension"), "{msg}");

    let missing_dir = temp_path("no-such-dir").join("chart.svg");
    let err = render_to_file(&series, &stacked_opts(), &missing_dir).unwrap_err();
    assert!(matches!(err, ChartError::Io { .. }), "{err}");
    let _ = std::fs::remove_dir_all(svg_path.parent().unwrap());
}

#[test]
fn daily_series_render_with_dates() {
    let opts = ChartOptions::new(ChartKind::DailyLine, "Daily cost");
    let svg = render_svg(&daily(false), &opts).unwrap();
    assert!(
        svg.contains("1 Nov 2025"),
        "first day labelled, as every screen writes dates"
    );
    assert!(!svg.contains(">Other"), "ungrouped: no legend");
    let grouped = render_svg(&daily(true), &opts).unwrap();
    assert!(grouped.contains("AmazonEC2") && grouped.contains("Other"));
    let png = render_png(&daily(true), &opts).unwrap();
    assert_eq!(png[..8], PNG_SIGNATURE);
    // A stacked chart of a daily series labels days too.
    let stacked = render_svg(&daily(true), &stacked_opts()).unwrap();
    assert!(stacked.contains("1 Nov 2025"));
}

#[test]
fn account_bars_render() {
    let opts = ChartOptions::new(ChartKind::ByAccount, "Cost by account");
    let svg = render_svg(&by_account(), &opts).unwrap();
    assert!(svg.contains("111111111111") && svg.contains("444444444444"));
    assert!(
        svg.contains(">\n$18k") || svg.contains(">$18k"),
        "total of the first account"
    );
    let png = render_png(&by_account(), &opts.with_large_type(true)).unwrap();
    assert_eq!(png[..8], PNG_SIGNATURE);
}

#[test]
fn empty_series_say_so() {
    for kind in [
        ChartKind::StackedByService,
        ChartKind::DailyLine,
        ChartKind::ByAccount,
    ] {
        let opts = ChartOptions::new(kind, "Nothing here");
        let svg = render_svg(&empty(), &opts).unwrap();
        assert!(svg.contains("No costs in this range"), "{kind}");
        let png = render_png(&empty(), &opts).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (1200, 675));
    }
}

#[test]
fn large_type_and_odd_inputs_render() {
    let opts = stacked_opts().with_large_type(true).with_top_n(0);
    let svg = render_svg(&monthly_by_service(1), &opts).unwrap();
    assert!(svg.contains("AmazonEC2") && svg.contains("Other"));
    // Negative amounts (credits) and XML-special characters.
    let mut series = monthly_by_service(1);
    series.points.push(CostPoint {
        period: d(2025, 12, 1),
        keys: vec!["R&D <credits>".into()],
        amount: Decimal::from(-5_000),
    });
    let svg = render_svg(&series, &stacked_opts().with_top_n(20)).unwrap();
    assert!(svg.contains("R&amp;D &lt;credits&gt;"));
    render_png(&series, &stacked_opts().with_top_n(20)).unwrap();
}

#[test]
fn bad_sizes_and_kinds_are_errors() {
    let err = render_svg(&empty(), &stacked_opts().with_size(10, 10)).unwrap_err();
    assert!(matches!(err, ChartError::Size { .. }), "{err}");
    assert_eq!("daily".parse::<ChartKind>().unwrap(), ChartKind::DailyLine);
    assert_eq!(
        "stacked-by-service".parse::<ChartKind>().unwrap(),
        ChartKind::StackedByService
    );
    assert_eq!(
        "Account".parse::<ChartKind>().unwrap(),
        ChartKind::ByAccount
    );
    let msg = "pie".parse::<ChartKind>().unwrap_err().to_string();
    assert!(msg.contains("stacked, daily or account"), "{msg}");
}

/// Set COSTCARVE_CHART_SAMPLES=/some/dir to write every kind of chart there
/// for a look.
#[test]
fn write_samples_when_asked() {
    let Some(dir) = std::env::var_os("COSTCARVE_CHART_SAMPLES") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let samples: Vec<(&str, CostSeries, ChartOptions)> = vec![
        ("stacked", monthly_by_service(1), stacked_opts()),
        (
            "stacked-large",
            monthly_by_service(1),
            stacked_opts().with_large_type(true),
        ),
        (
            "daily",
            daily(false),
            ChartOptions::new(ChartKind::DailyLine, "Daily cost"),
        ),
        (
            "daily-grouped",
            daily(true),
            ChartOptions::new(ChartKind::DailyLine, "Daily cost by service"),
        ),
        (
            "account",
            by_account(),
            ChartOptions::new(ChartKind::ByAccount, "Cost by account"),
        ),
        (
            "stacked-small",
            monthly_by_service(1),
            stacked_opts().with_size(640, 400),
        ),
        ("stacked-daily", daily(true), stacked_opts().with_top_n(4)),
        ("empty", empty(), stacked_opts()),
    ];
    for (name, series, opts) in samples {
        for ext in ["png", "svg"] {
            render_to_file(&series, &opts, &dir.join(format!("chart-{name}.{ext}"))).unwrap();
        }
    }
}
