//! The pack's files, checked from outside with poppler's tools (pdfinfo,
//! pdffonts, pdftotext) as a reader's PDF viewer would read them.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use costcarve_charts::{render_png, render_svg, ChartKind, ChartOptions};
use costcarve_core::cost::{CostPoint, CostQuery, CostSeries, Dimension};
use costcarve_review::{
    file_stem, pdf_bytes, write, KeyFigure, PackChart, PackPage, PackTable, ReviewError, ReviewPack,
};
use rust_decimal::Decimal;

const BASIS: &str = "Net unblended cost (after discounts); credits and tax left out.";
const CHART_SERVICES: [&str; 5] = [
    "AmazonEC2",
    "AmazonRDS",
    "AmazonS3",
    "AWSLambda",
    "AmazonCloudWatch",
];
const TABLE_SERVICES: [&str; 30] = [
    "Amazon Elastic Compute Cloud",
    "Amazon Relational Database Service",
    "Amazon Simple Storage Service",
    "AWS Data Transfer",
    "Amazon CloudWatch",
    "AWS Lambda",
    "Amazon DynamoDB",
    "Amazon Virtual Private Cloud",
    "Amazon Elastic Container Service",
    "Amazon Route 53",
    "AWS Key Management Service",
    "Amazon Simple Notification Service",
    "Amazon Simple Queue Service",
    "Amazon ElastiCache",
    "Amazon OpenSearch Service",
    "AWS Backup",
    "Amazon Elastic File System",
    "AWS Config",
    "AWS CloudTrail",
    "Amazon GuardDuty",
    "AWS Secrets Manager",
    "Amazon API Gateway",
    "Amazon CloudFront",
    "AWS Step Functions",
    "Amazon Kinesis",
    "Amazon Athena",
    "AWS Glue",
    "Amazon Elastic Container Registry",
    "AWS Systems Manager",
    "Amazon Simple Email Service",
];
/// Words of the long paragraph; one is longer than a line.
const LONG_WORD: &str = "arn:aws:iam::123456789012:role/service-role/AWSCodePipelineServiceRole-eu-west-1-a-very-long-pipeline-name-that-goes-on-and-on-and-on-beyond-any-column";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// `$12,345.67` from cents.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// Six months of five services.
fn series() -> CostSeries {
    let mut q = CostQuery::new("northwind", d(2026, 6, 1), d(2026, 12, 1));
    q.group_by = vec![Dimension::Service];
    let mut points = Vec::new();
    for m in 0..6u32 {
        for (s, service) in CHART_SERVICES.iter().enumerate() {
            points.push(CostPoint {
                period: d(2026, 6 + m, 1),
                keys: vec![service.to_string()],
                amount: Decimal::new((600_000 >> s) * (20 + i64::from(m)) / 20, 2),
            });
        }
    }
    CostSeries::new(q, points)
}

fn long_paragraph() -> String {
    let mut words = Vec::new();
    for i in 0..260 {
        words.push(format!("word{i}"));
        if i == 100 {
            words.push(LONG_WORD.to_string());
        }
    }
    words.join(" ")
}

/// The series' month totals: a narrow table, shown beside the chart.
fn month_totals(s: &CostSeries) -> PackTable {
    let mut rows = Vec::new();
    let mut csv_rows = Vec::new();
    for period in s.periods() {
        let total: Decimal = s
            .points
            .iter()
            .filter(|p| p.period == period)
            .map(|p| p.amount)
            .sum();
        let cents = i64::try_from(total.mantissa()).unwrap() * 10_i64.pow(2 - total.scale());
        rows.push(vec![period.format("%B %Y").to_string(), money(cents)]);
        csv_rows.push(vec![period.format("%Y-%m").to_string(), total.to_string()]);
    }
    PackTable {
        id: "trend".into(),
        columns: vec!["Month".into(), "Total".into()],
        rows,
        csv_columns: vec!["month".into(), "amount".into()],
        csv_rows,
    }
}

fn pack() -> ReviewPack {
    let s = series();
    let opts =
        ChartOptions::new(ChartKind::StackedByService, "Cost by service").with_caption(BASIS);
    let chart = PackChart {
        id: "trend".into(),
        svg: render_svg(&s, &opts).unwrap(),
        png: render_png(&s, &opts).unwrap(),
    };
    let mut rows = Vec::new();
    let mut csv_rows = Vec::new();
    for (i, service) in TABLE_SERVICES.iter().enumerate() {
        let cents = 1_234_567 / (i as i64 + 1) + 7;
        let change = if i % 3 == 0 {
            format!("-{}.{}%", i % 7, i % 10)
        } else {
            format!("+{}.{}%", i % 9, i % 10)
        };
        rows.push(vec![
            service.to_string(),
            money(cents),
            format!("{}.{}%", 30 - i, i % 10),
            change.clone(),
        ]);
        csv_rows.push(vec![
            service.to_string(),
            format!("{}.{:02}", cents / 100, cents % 100),
            format!("{}.{}", 30 - i, i % 10),
            change.trim_end_matches('%').to_string(),
        ]);
    }
    let page = |id: &str, title: &str| PackPage {
        id: id.into(),
        title: title.into(),
        lines: vec![],
        figures: vec![],
        chart: None,
        table: None,
    };
    ReviewPack {
        integration: "northwind prod".into(),
        display_name: "Northwind Traders".into(),
        month: "2026-11".into(),
        month_label: "November 2026".into(),
        basis: BASIS.into(),
        currency: "USD".into(),
        data_as_of: "2 Dec 2026".into(),
        estimated: true,
        pages: vec![
            PackPage {
                lines: vec![
                    "Prepared by Example MSP for Northwind Traders.".into(),
                    "Every figure is this customer's own AWS bill.".into(),
                ],
                ..page("cover", "November 2026 cost review")
            },
            PackPage {
                lines: vec!["Spend rose on October 2026, led by Amazon EC2.".into()],
                figures: vec![
                    KeyFigure {
                        label: "Total".into(),
                        value: "$12,345.67".into(),
                        note: Some("+4.2% on October 2026".into()),
                    },
                    KeyFigure {
                        label: "Daily average".into(),
                        value: "$411.52".into(),
                        note: None,
                    },
                    KeyFigure {
                        label: "Forecast".into(),
                        value: "$12,901.00".into(),
                        note: Some("if the last 7 days go on".into()),
                    },
                ],
                ..page("total", "Total for November 2026")
            },
            PackPage {
                lines: vec!["Six months, the five largest services.".into()],
                chart: Some(chart),
                table: Some(month_totals(&s)),
                ..page("trend", "Six months by service")
            },
            PackPage {
                lines: vec!["Every service billed in the month, largest first.".into()],
                table: Some(PackTable {
                    id: "services".into(),
                    columns: vec![
                        "Service".into(),
                        "Cost".into(),
                        "Share".into(),
                        "Change".into(),
                    ],
                    rows,
                    csv_columns: vec![
                        "service".into(),
                        "cost_usd".into(),
                        "share_percent".into(),
                        "change_percent".into(),
                    ],
                    csv_rows,
                }),
                ..page("services", "Services")
            },
            PackPage {
                lines: vec![long_paragraph(), "A short closing line.".into()],
                ..page("appendix", "Appendix")
            },
        ],
    }
}

/// Runs a poppler tool; fails (never skips) when poppler-utils is missing.
fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run {tool} ({e}): install poppler-utils \
             (apt-get install poppler-utils, or scripts/setup-system)"
        )
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn written(dir: &Path) -> (ReviewPack, PathBuf) {
    let pack = pack();
    let w = write(&pack, dir).unwrap();
    (pack, w.pdf)
}

/// The text of each page, split on form feeds.
fn pages_text(pdf: &Path) -> Vec<String> {
    let text = poppler("pdftotext", &["-layout", pdf.to_str().unwrap(), "-"]);
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// The page (0-based) whose text holds `needle`.
fn page_with(pages: &[String], needle: &str) -> usize {
    pages
        .iter()
        .position(|p| p.contains(needle))
        .unwrap_or_else(|| panic!("no page holds {needle:?}"))
}

const EXPECTED_PAGES: usize = 6;

#[test]
fn writes_the_pdf_pngs_and_csvs_and_the_pdf_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reviews");
    let pack = pack();
    let w = write(&pack, &out).unwrap();

    let stem = file_stem(&pack);
    assert_eq!(stem, "northwind-prod-2026-11");
    assert_eq!(w.pdf, out.join(format!("{stem}.pdf")));
    assert_eq!(w.pngs, vec![out.join(format!("{stem}-trend.png"))]);
    assert_eq!(
        w.csvs,
        vec![
            out.join(format!("{stem}-trend.csv")),
            out.join(format!("{stem}-services.csv"))
        ]
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            format!("{stem}-services.csv"),
            format!("{stem}-trend.csv"),
            format!("{stem}-trend.png"),
            format!("{stem}.pdf"),
        ],
        "exactly the pack's files, no temporary one left"
    );

    let pdf = w.pdf.to_str().unwrap();
    let info = poppler("pdfinfo", &[pdf]);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("pdfinfo has no {name}: {info}"))
            .to_string()
    };
    assert_eq!(field("Pages"), EXPECTED_PAGES.to_string(), "{info}");
    assert_eq!(
        field("Title"),
        "Northwind Traders — November 2026 cost review"
    );
    assert_eq!(field("Creator"), "CostCarve");
    assert!(field("Page size").starts_with("842 x 595"), "{info}");

    let fonts = poppler("pdffonts", &[pdf]);
    let rows: Vec<&str> = fonts
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(!rows.is_empty(), "no font at all: {fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(cols[0].contains("DejaVuSans"), "not DejaVu Sans: {row}");
        // name type... encoding emb sub uni object ID
        assert_eq!(cols[cols.len() - 5], "yes", "not embedded: {row}");
    }

    let pages = pages_text(&w.pdf);
    assert_eq!(pages.len(), EXPECTED_PAGES);
    for (i, text) in pages.iter().enumerate() {
        for needle in [
            "Northwind Traders",
            "November 2026",
            BASIS,
            "Data as of 2 Dec 2026",
            "Estimated",
            &format!("Page {} of {EXPECTED_PAGES}", i + 1),
        ] {
            assert!(
                text.contains(needle),
                "page {} lacks {needle:?}:\n{text}",
                i + 1
            );
        }
    }

    // The cover, the headline figures.
    assert_eq!(page_with(&pages, "Prepared by Example MSP"), 0);
    let total = page_with(&pages, "Total for November 2026");
    for figure in &pack.pages[1].figures {
        assert!(pages[total].contains(&figure.label), "{}", figure.label);
        assert!(pages[total].contains(&figure.value), "{}", figure.value);
        if let Some(note) = &figure.note {
            assert!(pages[total].contains(note), "{note}");
        }
    }

    // The chart's own text is text in the PDF: its legend's services.
    let trend = page_with(&pages, "Six months by service");
    for service in CHART_SERVICES {
        assert!(
            pack.pages[2].chart.as_ref().unwrap().svg.contains(service),
            "the SVG names {service}"
        );
        assert!(
            pages[trend].contains(service),
            "the chart's legend {service} is not text on its page:\n{}",
            pages[trend]
        );
    }

    // The month totals beside the chart, on the same page.
    for row in &pack.pages[2].table.as_ref().unwrap().rows {
        for cell in row {
            assert!(
                pages[trend].contains(cell.as_str()),
                "cell {cell:?} missing"
            );
        }
    }

    // The table: every cell, over two pages; the second says it goes on.
    let services = page_with(&pages, "Services");
    let next = page_with(&pages, "Services (continued)");
    assert_eq!(next, services + 1);
    let table = pack.pages[3].table.as_ref().unwrap();
    let both = format!("{}{}", pages[services], pages[next]);
    for row in &table.rows {
        for cell in row {
            assert!(both.contains(cell.as_str()), "cell {cell:?} missing");
        }
    }
    for column in &table.columns {
        assert!(pages[next].contains(column.as_str()), "headings repeated");
    }
    assert!(pages[services].contains(&table.rows[0][0]));
    assert!(!pages[services].contains(&table.rows[29][0]));
    assert!(pages[next].contains(&table.rows[29][0]));
    // A row's cells stay on one line, in order.
    let last = &table.rows[29];
    let line = pages[next]
        .lines()
        .find(|l| l.contains(last[0].as_str()))
        .unwrap();
    let at: Vec<usize> = last
        .iter()
        .map(|c| line.find(c.as_str()).unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
}

#[test]
fn pngs_are_the_charts_and_csvs_hold_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let pack = pack();
    let w = write(&pack, dir.path()).unwrap();

    let chart = pack.pages[2].chart.as_ref().unwrap();
    assert_eq!(std::fs::read(&w.pngs[0]).unwrap(), chart.png);

    let tables = [&pack.pages[2], &pack.pages[3]].map(|p| p.table.as_ref().unwrap());
    for (table, path) in tables.iter().zip(&w.csvs) {
        let mut reader = csv::Reader::from_path(path).unwrap();
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(headers, table.csv_columns);
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(rows, table.csv_rows);
    }
    assert_eq!(tables[1].csv_rows.len(), 30);
}

#[test]
fn the_pdf_is_the_same_bytes_each_time() {
    let pack = pack();
    assert_eq!(pdf_bytes(&pack).unwrap(), pdf_bytes(&pack).unwrap());
}

#[test]
fn a_folder_that_cannot_be_made_is_an_io_error_naming_it_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"kept").unwrap();
    let target = file.join("reviews");

    let err = write(&pack(), &target).unwrap_err();
    match &err {
        ReviewError::Io { path, .. } => assert_eq!(path, &target),
        other => panic!("not an Io error: {other:?}"),
    }
    assert!(err.to_string().contains(target.to_str().unwrap()), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the file that was there");
    assert_eq!(std::fs::read(&file).unwrap(), b"kept");
}

#[test]
fn a_chart_that_is_not_svg_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reviews");
    let mut pack = pack();
    if let Some(chart) = pack.pages[2].chart.as_mut() {
        chart.svg = "<svg".into();
    }
    let err = write(&pack, &out).unwrap_err();
    assert!(
        matches!(&err, ReviewError::Chart { id, .. } if id == "trend"),
        "{err:?}"
    );
    assert!(!out.exists());
}

#[test]
fn long_lines_wrap_inside_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pdf) = written(dir.path());
    let html = poppler("pdftotext", &["-bbox", pdf.to_str().unwrap(), "-"]);

    let attr = |tag: &str, name: &str| -> f32 {
        let key = format!("{name}=\"");
        let start = tag.find(&key).unwrap() + key.len();
        let end = start + tag[start..].find('"').unwrap();
        tag[start..end].parse().unwrap()
    };
    let mut words = 0;
    let mut appendix_lines = std::collections::BTreeSet::new();
    let mut text = String::new();
    for (n, page) in html.split("<page ").skip(1).enumerate() {
        let head = &page[..page.find('>').unwrap()];
        assert_eq!(attr(head, "width"), 842.0);
        assert_eq!(attr(head, "height"), 595.0);
        for word in page.split("<word ").skip(1) {
            let tag = &word[..word.find('>').unwrap()];
            let content = &word[word.find('>').unwrap() + 1..word.find("</word>").unwrap()];
            let (x0, y0, x1, y1) = (
                attr(tag, "xMin"),
                attr(tag, "yMin"),
                attr(tag, "xMax"),
                attr(tag, "yMax"),
            );
            assert!(
                x0 >= 39.0 && x1 <= 803.0 && y0 >= 0.0 && y1 <= 595.0,
                "page {}: {content:?} at {x0},{y0}-{x1},{y1} is outside the margins",
                n + 1
            );
            if n + 1 == EXPECTED_PAGES && content.starts_with("word") {
                appendix_lines.insert(y0.round() as i32);
            }
            text.push_str(content);
            text.push(' ');
            words += 1;
        }
    }
    assert!(words > 200, "{words}");
    assert!(
        appendix_lines.len() >= 10,
        "the long paragraph is on {} lines",
        appendix_lines.len()
    );
    for i in 0..260 {
        assert!(text.contains(&format!("word{i} ")), "word{i} missing");
    }
    // The word longer than a line is cut into pieces, all of it kept.
    let joined: String = text.split_whitespace().collect();
    assert!(joined.contains(LONG_WORD), "the long word is lost");
}
