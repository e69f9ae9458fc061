//! The demo workspace: a made-up MSP organization and 13 months of CUR
//! 2.0-shaped Parquet, generated deterministically from a seed (same seed and
//! size, byte-identical files).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, MapBuilder, RecordBatch, StringBuilder, StringDictionaryBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use costcarve_core::account::{Account, AccountId, OrgUnit, Organization};

use crate::workspace::{WorkspaceManifest, CUR_DIR, MANIFEST_FILE, ORGANIZATION_FILE};
use crate::LocalError;

/// Rows a demo workspace has when no size is asked for.
pub const DEFAULT_ROWS: u64 = 400_000;
/// Months of data.
pub const MONTHS: u32 = 13;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 65_536;
/// Rows per Parquet data page.
const PAGE_ROWS: usize = 4_096;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    /// Approximate number of CUR rows.
    pub rows: u64,
    /// Random seed.
    pub seed: u64,
    /// First day of the last (current, open) month.
    pub last_month: NaiveDate,
    /// First day without data (today, for an open month); `None` fills the
    /// last month to its end.
    pub data_until: Option<NaiveDate>,
}

impl DemoSpec {
    /// A spec ending with the month of `today`.
    pub fn new(rows: u64, seed: u64, today: NaiveDate) -> Self {
        Self {
            rows,
            seed,
            last_month: costcarve_core::cost::first_of_month(today),
            data_until: None,
        }
    }

    /// The billing periods, oldest first.
    pub fn months(&self) -> Vec<NaiveDate> {
        let mut m = self.last_month;
        let mut out = vec![m];
        for _ in 1..MONTHS {
            m = previous_month(m);
            out.push(m);
        }
        out.reverse();
        out
    }
}

fn previous_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 1 {
        (d.year() - 1, 12)
    } else {
        (d.year(), d.month() - 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

/// Progress of a long generation.
#[derive(Debug, Clone)]
pub struct DemoProgress {
    /// Months written so far.
    pub months_done: u32,
    /// Months in all.
    pub months_total: u32,
    /// Rows written so far.
    pub rows_done: u64,
}

/// What was generated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    /// Accounts in the organization.
    pub accounts: usize,
    /// Organizational units (root excluded).
    pub units: usize,
    /// CUR rows written.
    pub rows: u64,
    /// Parquet files written.
    pub files: usize,
    /// Billing periods, oldest first.
    pub billing_periods: Vec<String>,
}

const CUSTOMERS: [&str; 8] = [
    "Acme Retail",
    "Borealis Health",
    "Cobalt Logistics",
    "Dunmore Finance",
    "Evergreen Media",
    "Fjord Energy",
    "Granite Insurance",
    "Helios Games",
];

const SHARED: [&str; 6] = [
    "Shared Networking",
    "Shared Security",
    "Log Archive",
    "Audit",
    "Shared CI-CD",
    "Shared Monitoring",
];

struct Region {
    code: &'static str,
    prefix: &'static str,
}

const REGIONS: [Region; 5] = [
    Region {
        code: "us-east-1",
        prefix: "USE1",
    },
    Region {
        code: "us-west-2",
        prefix: "USW2",
    },
    Region {
        code: "eu-west-1",
        prefix: "EU",
    },
    Region {
        code: "eu-central-1",
        prefix: "EUC1",
    },
    Region {
        code: "ap-southeast-2",
        prefix: "APS2",
    },
];

struct Service {
    code: &'static str,
    weight: u32,
    usage: &'static [(&'static str, &'static str, f64)],
    daily_scale: f64,
    resource: &'static str,
}

const SERVICES: [Service; 16] = [
    Service {
        code: "AmazonEC2",
        weight: 30,
        daily_scale: 40.0,
        resource: "i-",
        usage: &[
            ("BoxUsage:m5.large", "RunInstances", 0.096),
            ("BoxUsage:c6g.xlarge", "RunInstances", 0.136),
            ("EBS:VolumeUsage.gp3", "CreateVolume-Gp3", 0.0027),
            ("BoxUsage:r6i.2xlarge", "RunInstances", 0.504),
        ],
    },
    Service {
        code: "AmazonRDS",
        weight: 10,
        daily_scale: 55.0,
        resource: "arn:aws:rds:db:",
        usage: &[
            ("InstanceUsage:db.r6g.large", "CreateDBInstance:0016", 0.225),
            ("RDS:GP3-Storage", "CreateDBInstance:0016", 0.0038),
        ],
    },
    Service {
        code: "AmazonS3",
        weight: 12,
        daily_scale: 9.0,
        resource: "bucket-",
        usage: &[
            ("TimedStorage-ByteHrs", "StandardStorage", 0.023),
            ("Requests-Tier1", "PutObject", 0.005),
        ],
    },
    Service {
        code: "AWSLambda",
        weight: 6,
        daily_scale: 4.0,
        resource: "arn:aws:lambda:function:",
        usage: &[
            ("Lambda-GB-Second", "Invoke", 0.0000167),
            ("Request", "Invoke", 0.0000002),
        ],
    },
    Service {
        code: "AmazonDynamoDB",
        weight: 5,
        daily_scale: 12.0,
        resource: "table/",
        usage: &[
            ("ReadCapacityUnit-Hrs", "CommittedThroughput", 0.00013),
            ("TimedStorage-ByteHrs", "StandardStorage", 0.25),
        ],
    },
    Service {
        code: "AmazonEKS",
        weight: 3,
        daily_scale: 2.4,
        resource: "cluster/",
        usage: &[("AmazonEKS-Hours:perCluster", "CreateOperation", 0.10)],
    },
    Service {
        code: "AmazonVPC",
        weight: 6,
        daily_scale: 6.0,
        resource: "nat-",
        usage: &[
            ("NatGateway-Hours", "NatGateway", 0.045),
            ("NatGateway-Bytes", "NatGateway", 0.045),
        ],
    },
    Service {
        code: "AWSELB",
        weight: 4,
        daily_scale: 5.5,
        resource: "loadbalancer/app/",
        usage: &[("LoadBalancerUsage", "LoadBalancing:Application", 0.0225)],
    },
    Service {
        code: "AmazonCloudWatch",
        weight: 6,
        daily_scale: 3.0,
        resource: "log-group:",
        usage: &[
            ("CW:MetricMonitorUsage", "MetricStorage", 0.30),
            ("DataProcessing-Bytes", "PutLogEvents", 0.50),
        ],
    },
    Service {
        code: "AmazonCloudFront",
        weight: 3,
        daily_scale: 8.0,
        resource: "distribution/",
        usage: &[("DataTransfer-Out-Bytes", "GET", 0.085)],
    },
    Service {
        code: "AWSDataTransfer",
        weight: 4,
        daily_scale: 7.0,
        resource: "",
        usage: &[
            ("DataTransfer-Out-Bytes", "InterZone-Out", 0.09),
            ("DataTransfer-Regional-Bytes", "InterZone-In", 0.01),
        ],
    },
    Service {
        code: "AmazonElastiCache",
        weight: 3,
        daily_scale: 18.0,
        resource: "cluster:",
        usage: &[(
            "NodeUsage:cache.r6g.large",
            "CreateCacheCluster:0012",
            0.206,
        )],
    },
    Service {
        code: "AmazonEFS",
        weight: 2,
        daily_scale: 4.0,
        resource: "file-system/fs-",
        usage: &[("TimedStorage-ByteHrs", "Storage", 0.30)],
    },
    Service {
        code: "AWSKMS",
        weight: 2,
        daily_scale: 0.8,
        resource: "key/",
        usage: &[("KMS-Requests", "GenerateDataKey", 0.00003)],
    },
    Service {
        code: "AmazonGuardDuty",
        weight: 2,
        daily_scale: 2.0,
        resource: "detector/",
        usage: &[("PaidEventsAnalyzed", "ProcessEvents", 0.000004)],
    },
    Service {
        code: "AmazonSQS",
        weight: 2,
        daily_scale: 1.2,
        resource: "queue/",
        usage: &[("Requests-Tier1", "SendMessage", 0.0000004)],
    },
];

/// The CUR 2.0 columns the demo writes (a subset of the real export, same
/// names and types).
pub fn cur_schema() -> SchemaRef {
    let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let ts = DataType::Timestamp(TimeUnit::Millisecond, None);
    let map = DataType::Map(
        Arc::new(Field::new(
            "key_value",
            DataType::Struct(
                vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", DataType::Utf8, true),
                ]
                .into(),
            ),
            false,
        )),
        false,
    );
    Arc::new(Schema::new(vec![
        Field::new("bill_payer_account_id", dict(), false),
        Field::new("bill_billing_period_start_date", ts.clone(), false),
        Field::new("line_item_usage_account_id", dict(), false),
        Field::new("line_item_usage_account_name", dict(), false),
        Field::new("line_item_line_item_type", dict(), false),
        Field::new("line_item_product_code", dict(), false),
        Field::new("line_item_usage_type", dict(), false),
        Field::new("line_item_operation", dict(), false),
        Field::new("product_region_code", dict(), true),
        Field::new("line_item_usage_start_date", ts.clone(), false),
        Field::new("line_item_usage_end_date", ts, false),
        Field::new("line_item_usage_amount", DataType::Float64, false),
        Field::new("line_item_unblended_cost", DataType::Float64, false),
        Field::new("line_item_blended_cost", DataType::Float64, false),
        Field::new("line_item_net_unblended_cost", DataType::Float64, false),
        Field::new(
            "savings_plan_savings_plan_effective_cost",
            DataType::Float64,
            true,
        ),
        Field::new("reservation_effective_cost", DataType::Float64, true),
        Field::new("pricing_public_on_demand_cost", DataType::Float64, false),
        Field::new("line_item_resource_id", DataType::Utf8, true),
        Field::new("line_item_currency_code", dict(), false),
        Field::new("resource_tags", map, true),
    ]))
}

/// One daily usage line of an account: service, usage type, resource.
struct Meter {
    service: usize,
    usage: usize,
    region: usize,
    resource_id: String,
    base: f64,
    covered: Option<&'static str>,
    /// Unblended ÷ public on-demand cost: at most 1.
    list_ratio: f64,
    tags: [(&'static str, String); 3],
}

/// One account's cost personality.
struct Profile {
    account: Account,
    meters: Vec<Meter>,
    growth: f64,
    weekend: f64,
    first_month: usize,
    spikes: Vec<(usize, u32, usize)>,
    credit: Option<f64>,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn id_chars(rng: &mut ChaCha8Rng, n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn slug(name: &str) -> String {
    name.to_ascii_lowercase().replace(' ', "-")
}

/// Makes the demo organization.
pub fn organization(seed: u64) -> Organization {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6f72_6761_6e69);
    let org_suffix = id_chars(&mut rng, 10);
    let root = format!("r-{}", id_chars(&mut rng, 4));
    let mut units = vec![OrgUnit {
        id: root.clone(),
        name: "Root".into(),
        parent_id: None,
    }];
    let mut new_unit = |rng: &mut ChaCha8Rng, name: &str, parent: &str| {
        let id = format!("ou-{}-{}", &root[2..], id_chars(rng, 8));
        units.push(OrgUnit {
            id: id.clone(),
            name: name.to_string(),
            parent_id: Some(parent.to_string()),
        });
        id
    };
    let customers_ou = new_unit(&mut rng, "Customers", &root);
    let shared_ou = new_unit(&mut rng, "Shared services", &root);
    let sandbox_ou = new_unit(&mut rng, "Sandbox", &root);
    let mut used = std::collections::BTreeSet::new();
    let mut account_id = |rng: &mut ChaCha8Rng| loop {
        let n: u64 = rng.random_range(100_000_000_000..1_000_000_000_000);
        if used.insert(n) {
            return AccountId::try_from(n.to_string()).unwrap_or_else(|_| unreachable!());
        }
    };
    let mut accounts = Vec::new();
    let mut push = |rng: &mut ChaCha8Rng, name: String, parent: &str, tags: &[(&str, &str)]| {
        let id = account_id(rng);
        let email = format!("aws+{}@msp.example.com", slug(&name));
        accounts.push(Account {
            id,
            name,
            email,
            status: "ACTIVE".into(),
            parent_id: parent.to_string(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
    };
    push(
        &mut rng,
        "MSP Payer".into(),
        &root,
        &[("env", "management")],
    );
    let mut customer_units = Vec::new();
    for c in CUSTOMERS {
        let cu = new_unit(&mut rng, c, &customers_ou);
        let prod = new_unit(&mut rng, "prod", &cu);
        let dev = new_unit(&mut rng, "dev", &cu);
        customer_units.push((c, prod, dev));
    }
    let workloads = ["web", "data", "api", "batch"];
    for (c, prod, dev) in &customer_units {
        let s = slug(c);
        let short = c.split(' ').next().unwrap_or(c);
        let n_prod = rng.random_range(3..=4);
        let n_dev = rng.random_range(2..=3);
        for i in 0..n_prod {
            let name = format!("{short} {} prod", workloads[i % workloads.len()]);
            push(&mut rng, name, prod, &[("customer", &s), ("env", "prod")]);
        }
        for i in 0..n_dev {
            let name = format!("{short} {} dev", workloads[i % workloads.len()]);
            push(&mut rng, name, dev, &[("customer", &s), ("env", "dev")]);
        }
    }
    for s in SHARED {
        push(&mut rng, s.into(), &shared_ou, &[("env", "shared")]);
    }
    for i in 1..=6 {
        push(
            &mut rng,
            format!("Sandbox {i:02}"),
            &sandbox_ou,
            &[("env", "sandbox")],
        );
    }
    let management_account_id = accounts[0].id.clone();
    Organization {
        id: format!("o-{org_suffix}"),
        management_account_id,
        units,
        accounts,
    }
}

fn profiles(org: &Organization, spec: &DemoSpec, rng: &mut ChaCha8Rng) -> Vec<Profile> {
    let days_total: u64 = 396;
    let n_accounts = org.accounts.len().max(1) as u64;
    let meters_per_account = (spec.rows / (days_total * n_accounts)).max(3) as usize;
    let total_weight: u32 = SERVICES.iter().map(|s| s.weight).sum();
    let mut out = Vec::new();
    for account in &org.accounts {
        let env = account.tags.get("env").map(String::as_str).unwrap_or("");
        let size = match env {
            "prod" => (0.9 + 0.6 * normal(rng)).exp(),
            "dev" => (0.0 + 0.5 * normal(rng)).exp() * 0.4,
            "shared" => 0.8,
            "management" => 0.15,
            _ => 0.15,
        };
        let home = rng.random_range(0..REGIONS.len());
        let mut meters = Vec::with_capacity(meters_per_account);
        for m in 0..meters_per_account {
            let mut pick = rng.random_range(0..total_weight);
            let mut service = 0;
            for (i, s) in SERVICES.iter().enumerate() {
                if pick < s.weight {
                    service = i;
                    break;
                }
                pick -= s.weight;
            }
            let svc = &SERVICES[service];
            let usage = rng.random_range(0..svc.usage.len());
            let region = if rng.random::<f64>() < 0.8 {
                home
            } else {
                rng.random_range(0..REGIONS.len())
            };
            let resource_id = if svc.resource.is_empty() {
                String::new()
            } else {
                format!("{}{}", svc.resource, id_chars(rng, 12))
            };
            let base = svc.daily_scale * size * (0.6 * normal(rng)).exp()
                / (meters_per_account as f64 / 6.0).max(1.0);
            let covered = match (svc.code, env) {
                ("AmazonEC2", "prod") if rng.random::<f64>() < 0.5 => {
                    Some("SavingsPlanCoveredUsage")
                }
                ("AmazonRDS", "prod") if rng.random::<f64>() < 0.5 => Some("DiscountedUsage"),
                _ => None,
            };
            let list_ratio = match covered {
                Some(_) => 0.6 + 0.15 * rng.random::<f64>(),
                None => 0.9 + 0.1 * rng.random::<f64>(),
            };
            let team = ["platform", "payments", "search", "ml", "frontend"][m % 5];
            let app = ["checkout", "catalog", "reporting", "ingest"][rng.random_range(0..4)];
            meters.push(Meter {
                service,
                usage,
                region,
                resource_id,
                base,
                covered,
                list_ratio,
                tags: [
                    ("user_team", team.to_string()),
                    ("user_app", app.to_string()),
                    ("user_environment", env.to_string()),
                ],
            });
        }
        let first_month = if rng.random::<f64>() < 0.1 {
            rng.random_range(3..9)
        } else {
            0
        };
        let n_spikes = rng.random_range(0..3);
        let spikes = (0..n_spikes)
            .map(|_| {
                (
                    rng.random_range(first_month..MONTHS as usize),
                    rng.random_range(1..=28),
                    rng.random_range(0..SERVICES.len()),
                )
            })
            .collect();
        let credit = (rng.random::<f64>() < 0.2).then(|| 20.0 + 200.0 * rng.random::<f64>());
        out.push(Profile {
            account: account.clone(),
            meters,
            growth: -0.01 + 0.06 * rng.random::<f64>(),
            weekend: if env == "dev" || env == "sandbox" {
                0.35
            } else {
                0.9
            },
            first_month,
            spikes,
            credit,
        });
    }
    out
}

struct Columns {
    payer: StringDictionaryBuilder<Int32Type>,
    period_start: TimestampMillisecondBuilder,
    account: StringDictionaryBuilder<Int32Type>,
    account_name: StringDictionaryBuilder<Int32Type>,
    item_type: StringDictionaryBuilder<Int32Type>,
    product: StringDictionaryBuilder<Int32Type>,
    usage_type: StringDictionaryBuilder<Int32Type>,
    operation: StringDictionaryBuilder<Int32Type>,
    region: StringDictionaryBuilder<Int32Type>,
    start: TimestampMillisecondBuilder,
    end: TimestampMillisecondBuilder,
    amount: Float64Builder,
    unblended: Float64Builder,
    blended: Float64Builder,
    net: Float64Builder,
    sp_effective: Float64Builder,
    ri_effective: Float64Builder,
    public: Float64Builder,
    resource: StringBuilder,
    currency: StringDictionaryBuilder<Int32Type>,
    tags: MapBuilder<StringBuilder, StringBuilder>,
    rows: usize,
}

struct Line<'a> {
    payer: &'a str,
    period_ms: i64,
    account: &'a Account,
    item_type: &'a str,
    product: &'a str,
    usage_type: &'a str,
    operation: &'a str,
    region: Option<&'a str>,
    day: NaiveDate,
    days: i64,
    amount: f64,
    cost: f64,
    net: f64,
    sp: Option<f64>,
    ri: Option<f64>,
    public: f64,
    resource: &'a str,
    tags: &'a [(&'static str, String)],
}

impl Columns {
    fn new() -> Self {
        let names = datafusion::arrow::array::MapFieldNames {
            entry: "key_value".into(),
            key: "key".into(),
            value: "value".into(),
        };
        Self {
            payer: StringDictionaryBuilder::new(),
            period_start: TimestampMillisecondBuilder::new(),
            account: StringDictionaryBuilder::new(),
            account_name: StringDictionaryBuilder::new(),
            item_type: StringDictionaryBuilder::new(),
            product: StringDictionaryBuilder::new(),
            usage_type: StringDictionaryBuilder::new(),
            operation: StringDictionaryBuilder::new(),
            region: StringDictionaryBuilder::new(),
            start: TimestampMillisecondBuilder::new(),
            end: TimestampMillisecondBuilder::new(),
            amount: Float64Builder::new(),
            unblended: Float64Builder::new(),
            blended: Float64Builder::new(),
            net: Float64Builder::new(),
            sp_effective: Float64Builder::new(),
            ri_effective: Float64Builder::new(),
            public: Float64Builder::new(),
            resource: StringBuilder::new(),
            currency: StringDictionaryBuilder::new(),
            tags: MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new()),
            rows: 0,
        }
    }

    fn push(&mut self, l: &Line<'_>) {
        let ms = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp_millis())
                .unwrap_or_default()
        };
        self.payer.append_value(l.payer);
        self.period_start.append_value(l.period_ms);
        self.account.append_value(l.account.id.as_str());
        self.account_name.append_value(&l.account.name);
        self.item_type.append_value(l.item_type);
        self.product.append_value(l.product);
        self.usage_type.append_value(l.usage_type);
        self.operation.append_value(l.operation);
        match l.region {
            Some(r) => self.region.append_value(r),
            None => self.region.append_null(),
        }
        self.start.append_value(ms(l.day));
        self.end.append_value(ms(l.day + Duration::days(l.days)));
        self.amount.append_value(round(l.amount, 8));
        self.unblended.append_value(round(l.cost, 10));
        self.blended.append_value(round(l.cost, 10));
        self.net.append_value(round(l.net, 10));
        self.sp_effective.append_option(l.sp.map(|v| round(v, 10)));
        self.ri_effective.append_option(l.ri.map(|v| round(v, 10)));
        self.public.append_value(round(l.public, 10));
        if l.resource.is_empty() {
            self.resource.append_null();
        } else {
            self.resource.append_value(l.resource);
        }
        self.currency.append_value("USD");
        for (k, v) in l.tags {
            self.tags.keys().append_value(k);
            self.tags.values().append_value(v);
        }
        // Appending to a map builder only fails on mismatched lengths,
        // which the loop above rules out.
        let _ = self.tags.append(!l.tags.is_empty());
        self.rows += 1;
    }

    fn finish(mut self, schema: SchemaRef) -> Result<RecordBatch, LocalError> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.payer.finish()),
            Arc::new(self.period_start.finish()),
            Arc::new(self.account.finish()),
            Arc::new(self.account_name.finish()),
            Arc::new(self.item_type.finish()),
            Arc::new(self.product.finish()),
            Arc::new(self.usage_type.finish()),
            Arc::new(self.operation.finish()),
            Arc::new(self.region.finish()),
            Arc::new(self.start.finish()),
            Arc::new(self.end.finish()),
            Arc::new(self.amount.finish()),
            Arc::new(self.unblended.finish()),
            Arc::new(self.blended.finish()),
            Arc::new(self.net.finish()),
            Arc::new(self.sp_effective.finish()),
            Arc::new(self.ri_effective.finish()),
            Arc::new(self.public.finish()),
            Arc::new(self.resource.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.tags.finish()),
        ];
        Ok(RecordBatch::try_new(schema, cols)?)
    }
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn days_in_month(m: NaiveDate) -> i64 {
    (costcarve_core::cost::next_month(m) - m).num_days()
}

/// Writes a demo workspace into `dir` (created if missing; must not already
/// hold a workspace).
pub fn generate(
    dir: &Path,
    spec: &DemoSpec,
    mut progress: impl FnMut(&DemoProgress),
) -> Result<DemoSummary, LocalError> {
    if dir.join(MANIFEST_FILE).exists() || dir.join(CUR_DIR).exists() {
        return Err(LocalError::AlreadyAWorkspace(dir.to_path_buf()));
    }
    fs::create_dir_all(dir).map_err(|e| LocalError::io(dir, e))?;
    let org = organization(spec.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut profiles = profiles(&org, spec, &mut rng);
    // Rows sorted by account: each page of the account column then holds few
    // accounts, so an integration's queries skip the pages of the others.
    profiles.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    let schema = cur_schema();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // Small pages: the page index then lets a query skip the pages of
        // accounts outside its integration.
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_write_batch_size(PAGE_ROWS)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by("costcarve demo".into())
        .build();
    let payer = org.management_account_id.to_string();
    let months = spec.months();
    let mut rows_done = 0u64;
    let mut periods = Vec::new();
    for (mi, month) in months.iter().enumerate() {
        let period = month.format("%Y-%m").to_string();
        let part_dir = dir.join(CUR_DIR).join(format!("billing_period={period}"));
        fs::create_dir_all(&part_dir).map_err(|e| LocalError::io(&part_dir, e))?;
        let file_path = part_dir.join("part-00000.snappy.parquet");
        let file = File::create(&file_path).map_err(|e| LocalError::io(&file_path, e))?;
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props.clone()))?;
        let period_ms = month
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or_default();
        let ndays = days_in_month(*month);
        let mut cols = Columns::new();
        for p in &profiles {
            if mi < p.first_month {
                continue;
            }
            let trend = (1.0 + p.growth).powi((mi - p.first_month) as i32);
            let mut month_usage = 0.0;
            let mut by_service: BTreeMap<usize, f64> = BTreeMap::new();
            for d in 0..ndays {
                let day = *month + Duration::days(d);
                if spec.data_until.is_some_and(|until| day >= until) {
                    break;
                }
                let weekend = matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
                let season = if weekend { p.weekend } else { 1.0 };
                for m in &p.meters {
                    let svc = &SERVICES[m.service];
                    let (usage_type, operation, price) = svc.usage[m.usage];
                    let spike = p
                        .spikes
                        .iter()
                        .any(|&(sm, sd, ss)| sm == mi && sd == day.day() && ss == m.service);
                    let noise = (0.12 * normal(&mut rng)).exp();
                    let cost = m.base * trend * season * noise * if spike { 6.0 } else { 1.0 };
                    let region = &REGIONS[m.region];
                    let full_usage_type = format!("{}-{}", region.prefix, usage_type);
                    let item_type = m.covered.unwrap_or("Usage");
                    let (sp, ri) = match m.covered {
                        Some("SavingsPlanCoveredUsage") => (Some(cost * 0.72), None),
                        Some(_) => (None, Some(cost * 0.65)),
                        None => (None, None),
                    };
                    month_usage += cost;
                    *by_service.entry(m.service).or_default() += cost;
                    cols.push(&Line {
                        payer: &payer,
                        period_ms,
                        account: &p.account,
                        item_type,
                        product: svc.code,
                        usage_type: &full_usage_type,
                        operation,
                        region: Some(region.code),
                        day,
                        days: 1,
                        amount: cost / price,
                        cost,
                        net: cost * 0.97,
                        sp,
                        ri,
                        // List price: what the usage costs on demand. The
                        // MSP's own rates are below it (a reseller's
                        // discount on every line, deeper on covered usage).
                        public: cost / m.list_ratio,
                        resource: &m.resource_id,
                        tags: &m.tags,
                    });
                }
            }
            // Monthly lines: tax, support fee, credits, the odd refund.
            let mut monthly = |item_type: &str, product: &str, usage_type: &str, cost: f64| {
                cols.push(&Line {
                    payer: &payer,
                    period_ms,
                    account: &p.account,
                    item_type,
                    product,
                    usage_type,
                    operation: "",
                    region: None,
                    day: *month,
                    days: ndays,
                    amount: 1.0,
                    cost,
                    net: cost,
                    sp: None,
                    ri: None,
                    // Tax, fees, credits and refunds are not usage: no
                    // list price (as in AWS's CUR).
                    public: 0.0,
                    resource: "",
                    tags: &[],
                });
            };
            for (svc, usage) in &by_service {
                monthly("Tax", SERVICES[*svc].code, "Tax", usage * 0.06);
            }
            if p.account.tags.get("env").map(String::as_str) == Some("prod") {
                monthly("Fee", "AWSSupportBusiness", "Dollar", month_usage * 0.05);
            }
            if let Some(credit) = p.credit {
                monthly(
                    "Credit",
                    "AmazonEC2",
                    "Credit",
                    -credit.min(month_usage * 0.5),
                );
            }
            if rng.random::<f64>() < 0.03 {
                monthly("Refund", "AmazonS3", "Refund", -(month_usage * 0.02));
            }
        }
        let n = cols.rows;
        let batch = cols.finish(schema.clone())?;
        writer.write(&batch)?;
        writer.close()?;
        rows_done += n as u64;
        periods.push(period);
        progress(&DemoProgress {
            months_done: mi as u32 + 1,
            months_total: months.len() as u32,
            rows_done,
        });
    }
    crate::workspace::write_json_atomic(&dir.join(ORGANIZATION_FILE), &org)?;
    let manifest = WorkspaceManifest::demo(spec.seed, rows_done);
    crate::workspace::write_json_atomic(&dir.join(MANIFEST_FILE), &manifest)?;
    Ok(DemoSummary {
        accounts: org.accounts.len(),
        units: org.units.len().saturating_sub(1),
        rows: rows_done,
        files: periods.len(),
        billing_periods: periods,
    })
}
