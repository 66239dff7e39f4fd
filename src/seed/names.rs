//! The word lists the seeded catalog is made of: teams (with their sponsor,
//! cost centre, topics and usual connectors), app name parts and the purpose
//! sentence each implies, people, reviewers' comments, runtime error codes,
//! user agents. Data only, plus the small pure helpers that combine it.

use rand::Rng;
use rand::rngs::StdRng;

/// A team that builds micro-apps, and what its apps are usually about.
pub struct Team {
    pub name: &'static str,
    pub sponsor: &'static str,
    /// The team's first cost centre number; its apps use this and the next few.
    pub cost_center_base: u32,
    pub topics: &'static [&'static str],
    pub connectors: &'static [&'static str],
}

pub const TEAMS: &[Team] = &[
    Team {
        name: "sales-ops",
        sponsor: "vp-sales",
        cost_center_base: 1040,
        topics: &["sales", "quote", "pipeline", "lead", "territory", "commission", "deal-desk", "forecast", "account"],
        connectors: &["salesforce", "hubspot", "slack", "google-sheets", "docusign", "gong"],
    },
    Team {
        name: "finance",
        sponsor: "cfo",
        cost_center_base: 2010,
        topics: &["invoice", "expense", "budget", "ledger", "payment", "vendor", "tax", "revenue", "cash"],
        connectors: &["sap", "netsuite", "coupa", "excel-online", "sharepoint", "stripe"],
    },
    Team {
        name: "hr",
        sponsor: "chro",
        cost_center_base: 3020,
        topics: &["onboarding", "offboarding", "leave", "hiring", "candidate", "payroll", "benefits", "training"],
        connectors: &["workday", "greenhouse", "bamboohr", "slack", "docusign", "sharepoint"],
    },
    Team {
        name: "marketing",
        sponsor: "cmo",
        cost_center_base: 4030,
        topics: &["campaign", "webinar", "newsletter", "social", "event", "brand", "seo", "content"],
        connectors: &["hubspot", "marketo", "google-analytics", "linkedin-ads", "canva", "slack"],
    },
    Team {
        name: "support",
        sponsor: "vp-support",
        cost_center_base: 5040,
        topics: &["ticket", "escalation", "csat", "refund", "knowledge-base", "chat", "warranty", "rma"],
        connectors: &["zendesk", "servicenow", "intercom", "slack", "jira"],
    },
    Team {
        name: "it-ops",
        sponsor: "cio",
        cost_center_base: 6050,
        topics: &["access", "laptop", "license", "incident", "patch", "backup", "asset", "vpn"],
        connectors: &["servicenow", "okta", "jira", "azure-ad", "pagerduty", "intune"],
    },
    Team {
        name: "legal",
        sponsor: "general-counsel",
        cost_center_base: 7060,
        topics: &["contract", "nda", "clause", "matter", "privacy", "dsar", "policy"],
        connectors: &["docusign", "ironclad", "sharepoint", "outlook"],
    },
    Team {
        name: "procurement",
        sponsor: "cpo",
        cost_center_base: 8070,
        topics: &["purchase-order", "supplier", "rfp", "spend", "catalog", "renewal"],
        connectors: &["coupa", "sap", "ariba", "sharepoint", "excel-online"],
    },
    Team {
        name: "supply-chain",
        sponsor: "coo",
        cost_center_base: 8510,
        topics: &["inventory", "shipment", "warehouse", "demand", "order", "carrier"],
        connectors: &["sap", "oracle-scm", "google-sheets", "snowflake"],
    },
    Team {
        name: "data-analytics",
        sponsor: "cdo",
        cost_center_base: 9020,
        topics: &["metrics", "kpi", "churn", "cohort", "usage", "survey"],
        connectors: &["snowflake", "bigquery", "tableau", "power-bi", "google-sheets"],
    },
    Team {
        name: "facilities",
        sponsor: "vp-workplace",
        cost_center_base: 9510,
        topics: &["desk", "room", "visitor", "badge", "maintenance"],
        connectors: &["servicenow", "outlook", "google-sheets", "slack"],
    },
];

/// The second half of an app name, and the purpose it implies. In the
/// sentence `{topic}` is the topic, `{from}` and `{to}` two connectors.
pub const ACTIONS: &[(&str, &str)] = &[
    ("reconciler", "Reconciles {topic} records between {from} and {to}"),
    ("tracker", "Tracks {topic} status in {from} and posts changes to {to}"),
    ("dashboard", "Shows weekly {topic} figures from {from}"),
    ("bot", "Answers {topic} questions in {to} with data from {from}"),
    ("sync", "Keeps {topic} data in {to} in step with {from}"),
    ("digest", "Sends a daily {topic} digest from {from} to {to}"),
    ("approver", "Routes {topic} approvals from {from} to the right manager in {to}"),
    ("exporter", "Exports {topic} data from {from} to {to} every night"),
    ("intake", "Collects {topic} requests in a form and files them in {from}"),
    ("scheduler", "Schedules {topic} follow-ups from {from} and reminds owners in {to}"),
    ("notifier", "Notifies {to} when a {topic} item in {from} needs attention"),
    ("report", "Builds the monthly {topic} report from {from}"),
    ("assistant", "Drafts {topic} replies with an LLM, using context from {from}"),
    ("checker", "Checks {topic} entries in {from} for missing or conflicting fields"),
    ("forecaster", "Forecasts {topic} volumes from {from} history"),
    ("calculator", "Calculates {topic} amounts from {from} and writes them to {to}"),
    ("router", "Routes incoming {topic} items from {from} to the right queue"),
    ("onboarding-bot", "Walks new colleagues through {topic} steps in {to}"),
    ("quoting", "Builds {topic} quotes from {from} price books and sends them for signature"),
    ("planner", "Plans {topic} coverage from {from} data and shares the plan in {to}"),
    ("scorer", "Scores each {topic} from {from} activity and writes the score back to {to}"),
    ("dedupe-bot", "Finds and merges duplicate {topic} records in {from}"),
    ("rollup", "Rolls {topic} numbers from {from} up into one sheet in {to}"),
    ("reminder", "Reminds owners in {to} of upcoming {topic} dates from {from}"),
];

/// The topic and action of a name that ends in one of [`ACTIONS`] (the
/// longest that fits), with the action's purpose template.
pub fn split_name(name: &str) -> Option<(&str, &'static str, &'static str)> {
    ACTIONS
        .iter()
        .filter_map(|(action, template)| {
            let topic = name.strip_suffix(action)?.strip_suffix('-')?;
            Some((topic, *action, *template))
        })
        .max_by_key(|(_, action, _)| action.len())
}

/// Optional first part of a name, for the regional and periodic variants.
pub const NAME_PREFIXES: &[&str] =
    &["emea", "apac", "latam", "na", "uk", "de", "weekly", "daily", "q3", "fy26", "legacy", "new"];

/// Where citizen developers build, mentioned in some purposes.
pub const PLATFORMS: &[&str] = &["Power Automate", "Zapier", "Retool", "Airtable", "AppSheet", "n8n", "a GPT agent"];

/// First names; people in the catalog are these, alone or with an initial.
pub const FIRST_NAMES: &[&str] = &[
    "priya", "mateo", "aisha", "liam", "chen", "fatima", "noah", "sofia", "ravi", "elena", "jonas", "amara", "kenji",
    "lucia", "tomasz", "zara", "diego", "ingrid", "kwame", "hana", "felix", "nadia", "arjun", "maya", "oscar", "leila",
    "sven", "yuki", "marco", "ines", "tariq", "greta", "ade", "bruno", "clara", "dmitri", "esther", "farid", "gwen",
    "hugo", "isla", "jamal", "kira", "lars", "mina", "nils", "oona", "paulo", "quinn", "rahul", "sana", "theo", "uma",
    "victor", "wen", "ximena", "yara", "zeke", "anya", "bilal",
];

/// `count` distinct people, `first` or `first.x`, in a fixed order.
pub fn people(count: usize) -> Vec<String> {
    let mut people: Vec<String> = FIRST_NAMES.iter().take(count).map(|name| (*name).to_string()).collect();
    let initials = b'a'..=b'z';
    'fill: for second in initials.clone().map(char::from) {
        for first in FIRST_NAMES {
            if people.len() >= count {
                break 'fill;
            }
            people.push(format!("{first}.{second}"));
        }
    }
    for third in initials.map(char::from) {
        for second in (b'a'..=b'z').map(char::from) {
            for first in FIRST_NAMES {
                if people.len() >= count {
                    return people;
                }
                people.push(format!("{first}.{second}{third}"));
            }
        }
    }
    people
}

/// Optional approval comments; empty is the most common.
pub const APPROVE_COMMENTS: &[&str] = &[
    "",
    "",
    "",
    "LGTM",
    "Approved; DLP policy is in place",
    "OK for production; please add an SBOM before the next renewal",
    "Approved with the connector scoped to read-only",
    "Fine for the stated user count",
];

/// Reasons a reviewer gave for a rejection (a rejection always has one).
/// Why an owner asks for production access.
pub const ACCESS_REASONS: &[&str] = &[
    "pilot went well; the whole team should use it",
    "the sandbox data is stale; it needs the live records",
    "sign-off from the data owner is attached to the ticket",
    "needed for the quarter close",
];

pub const REJECT_REASONS: &[&str] = &[
    "PII leaves the tenant without DLP",
    "Secrets are stored in the flow, not in the vault",
    "No business sponsor named",
    "Duplicates an existing supported app; please reuse it",
    "External API has no data processing agreement",
    "Desktop agent needs an IT exception first",
    "Retention is longer than the data class allows",
];

/// What a reviewer asked an owner to change (a request for changes always says).
pub const CHANGE_REQUESTS: &[&str] = &[
    "Add an SBOM before this goes further",
    "Name a business sponsor and a cost centre",
    "Move the API key into the vault",
    "Turn on OTel so we can see who uses it",
];

/// Runtime error codes by what failed.
pub const LOGIN_ERRORS: &[&str] = &["AUTH-MFA-REQUIRED", "AUTH-TOKEN-EXPIRED", "AUTH-CONDITIONAL-ACCESS"];
pub const CONNECTOR_ERRORS: &[&str] =
    &["CONN-TIMEOUT", "CONN-429-RATE-LIMITED", "CONN-401-UNAUTHORIZED", "CONN-5XX", "CONN-SCHEMA-CHANGED"];
pub const DLP_RULES: &[(&str, &str)] = &[
    ("DLP-PII-EGRESS", "pii-egress"),
    ("DLP-CARD-NUMBER", "payment-card"),
    ("DLP-EXTERNAL-SHARE", "external-share"),
    ("DLP-BULK-DOWNLOAD", "bulk-download"),
];

/// User agents of the people and platforms that post runtime events.
pub const BROWSER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Microsoft Teams/24295.605",
];
pub const SERVICE_AGENTS: &[&str] =
    &["PowerAutomate/2.4", "Zapier-Runner/1.9", "n8n/1.70", "Retool-Workflows/3.1", "python-requests/2.32"];
/// The console's agent, for what people did in govdeck itself.
pub const CONSOLE_AGENT: &str = "govdeck/0.1.0";

/// A number that stands for `text` in every run (FNV-1a; std's hasher is seeded per process).
pub fn stable_key(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// An IPv4 address on the internal network for `key` (stable per key).
pub fn internal_ip(key: u64) -> String {
    format!("10.{}.{}.{}", 20 + (key % 40), (key / 40) % 250, 1 + (key / 10_000) % 250)
}

/// Picks one of `items` uniformly; `items` must not be empty.
pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Picks one of `items` in proportion to its weight; the weights must not all be zero.
pub fn pick_weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, weight)| weight).sum();
    let mut left = rng.random_range(0..total);
    for (item, weight) in items {
        if left < *weight {
            return *item;
        }
        left -= weight;
    }
    items[items.len() - 1].0
}

/// The purpose sentence of an app doing `template` about `topic`.
pub fn purpose(template: &str, topic: &str, from: &str, to: &str) -> String {
    template.replace("{topic}", &topic.replace('-', " ")).replace("{from}", from).replace("{to}", to)
}

/// A public endpoint of a SaaS connector.
pub fn connector_endpoint(connector: &str) -> String {
    format!("https://api.{}.com/v1", connector.replace('-', ""))
}
