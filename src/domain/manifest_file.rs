//! A manifest written by hand, in TOML or JSON: read it, and say everything
//! that is wrong with it at once, each problem with the field it concerns,
//! so its author fixes it in one round (the CLI's `intake`, the console's
//! `:intake` editor loop, and the server's dry run all report these).
//!
//! The file's format is told by its extension (`.toml`, `.json`). A TOML
//! syntax error carries its line; a problem of a field carries the line the
//! field is on when it can be found. [`template`] is a commented TOML
//! manifest of every field with its allowed values, generated from the
//! enums' `ALL` lists, so it cannot drift from what the server accepts; its
//! example values parse and validate as they are.
//!
//! TOML is read with the `toml` crate (the Rust ecosystem's TOML parser,
//! already used for the settings, themes and keymaps).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::app::{MAX_LIST_ITEMS, MAX_PURPOSE_CHARS, MAX_SHORT_FIELD_CHARS};
use super::policy::Policy;
use super::{Connectivity, DataClass, ExecEnv, LifecycleTier, Manifest, TtlClass};

/// One thing wrong with a manifest, and the field it concerns (`file` for
/// a file that does not parse at all, `controls.sbom` for a control).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    pub field: String,
    pub problem: String,
    /// The line of the file it is on, when known (never sent by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Problem {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Problem {
        Problem { field: field.into(), problem: problem.into(), line: None }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.field, self.problem),
            None => write!(f, "{}: {}", self.field, self.problem),
        }
    }
}

impl From<super::app::InvalidField> for Problem {
    fn from(invalid: super::app::InvalidField) -> Problem {
        Problem::new(invalid.field, invalid.problem)
    }
}

/// How a manifest file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

/// A manifest file whose format cannot be told from its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(String);

impl Format {
    /// The format of `path`, by its extension: `.toml` or `.json` (any case).
    pub fn of_path(path: &Path) -> Result<Format, FormatError> {
        if path.as_os_str() == "-" {
            return Err(FormatError(
                "a manifest is read from a file, not from standard input: give a file ending in .toml or .json".into(),
            ));
        }
        match path.extension().and_then(|ext| ext.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("toml") => Ok(Format::Toml),
            Some("json") => Ok(Format::Json),
            _ => Err(FormatError(format!(
                "{}: cannot tell the manifest's format from its name; accepted are .toml and .json",
                path.display()
            ))),
        }
    }
}

/// What a field holds.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Enum(fn() -> Vec<&'static str>),
    Count,
    Amount,
    List,
    Controls,
}

struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn field(name: &'static str, kind: Kind, required: bool) -> Field {
    Field { name, kind, required }
}

fn names<T: Copy + Into<&'static str>>(all: &[T]) -> Vec<&'static str> {
    all.iter().map(|value| (*value).into()).collect()
}

macro_rules! enum_names {
    ($($ty:ident),+) => {$(
        impl From<$ty> for &'static str {
            fn from(value: $ty) -> &'static str {
                value.as_str()
            }
        }
    )+};
}
enum_names!(DataClass, Connectivity, ExecEnv, LifecycleTier, TtlClass);

/// Every field of a manifest, in the order of the template.
const FIELDS: &[Field] = &[
    field("name", Kind::Text, true),
    field("purpose", Kind::Text, true),
    field("owner", Kind::Text, false),
    field("team", Kind::Text, true),
    field("sponsor", Kind::Text, false),
    field("cost_center", Kind::Text, false),
    field("data_classification", Kind::Enum(|| names(DataClass::ALL)), true),
    field("expected_users", Kind::Count, true),
    field("external_connectivity", Kind::Enum(|| names(Connectivity::ALL)), true),
    field("execution_environment", Kind::Enum(|| names(ExecEnv::ALL)), true),
    field("connectors", Kind::List, false),
    field("endpoints", Kind::List, false),
    field("secrets", Kind::List, false),
    field("environments", Kind::List, false),
    field("lifecycle_tier", Kind::Enum(|| names(LifecycleTier::ALL)), true),
    field("ttl_class", Kind::Enum(|| names(TtlClass::ALL)), true),
    field("retention_days", Kind::Count, false),
    field("monthly_budget", Kind::Amount, false),
    field("controls", Kind::Controls, false),
];

/// The controls, each a true or false.
const CONTROLS: &[&str] = &["otel", "backups", "sbom", "secrets_in_vault", "dlp"];

/// Reads a manifest; every problem at once when it is not a valid one
/// (parse errors, missing, unknown and mistyped fields, and the rules of
/// [`Manifest::problems`]). The name's uniqueness is the server's to check.
pub fn parse(text: &str, format: Format) -> Result<Manifest, Vec<Problem>> {
    let value = match format {
        Format::Toml => match toml::from_str::<toml::Table>(text) {
            Ok(table) => serde_json::to_value(table).map_err(|err| vec![Problem::new("file", err.to_string())])?,
            Err(err) => {
                let line = err.span().map(|span| line_at(text, span.start));
                let problem = Problem { field: "file".into(), problem: err.message().trim().to_string(), line };
                return Err(vec![problem]);
            }
        },
        Format::Json => match serde_json::from_str::<Value>(text) {
            Ok(value) => value,
            Err(err) => {
                let problem = Problem {
                    field: "file".into(),
                    problem: format!("not valid JSON: {err}"),
                    line: Some(err.line()).filter(|&line| line > 0),
                };
                return Err(vec![problem]);
            }
        },
    };
    let lines = |field: &str| match format {
        Format::Toml => toml_line_of(text, field),
        Format::Json => json_line_of(text, field),
    };
    from_value(value).map_err(|problems| {
        problems.into_iter().map(|problem| Problem { line: lines(&problem.field), ..problem }).collect()
    })
}

/// Checks a manifest given as JSON (what the server receives): every
/// problem at once, without lines.
pub fn from_value(value: Value) -> Result<Manifest, Vec<Problem>> {
    let Value::Object(object) = value else {
        return Err(vec![Problem::new("file", format!("a manifest is a table of fields, not {}", kind_of(&value)))]);
    };
    let mut problems = Vec::new();
    // A copy whose broken fields hold a placeholder, so the rules of
    // `Manifest::problems` still run over the fields that are well formed.
    let mut patched = Map::new();
    for spec in FIELDS {
        match object.get(spec.name) {
            None | Some(Value::Null) if spec.required => {
                problems.push(Problem::new(spec.name, "is required"));
                patched.insert(spec.name.into(), placeholder(spec.kind));
            }
            None | Some(Value::Null) => {}
            Some(value) => match check(spec, value, &mut problems) {
                true => {
                    patched.insert(spec.name.into(), value.clone());
                }
                false => {
                    patched.insert(spec.name.into(), placeholder(spec.kind));
                }
            },
        }
    }
    let known: Vec<&str> = FIELDS.iter().map(|spec| spec.name).collect();
    for key in object.keys().filter(|key| !known.contains(&key.as_str())) {
        problems.push(Problem::new(key.as_str(), unknown(key, &known)));
    }
    let manifest: Manifest = match serde_json::from_value(Value::Object(patched)) {
        Ok(manifest) => manifest,
        Err(err) => {
            // The checks above let through only what `Manifest` reads.
            problems.push(Problem::new("file", format!("cannot be read as a manifest: {err}")));
            return Err(problems);
        }
    };
    for invalid in manifest.problems() {
        if !problems.iter().any(|problem| problem.field == invalid.field) {
            problems.push(invalid.into());
        }
    }
    order(&mut problems);
    if problems.is_empty() { Ok(manifest) } else { Err(problems) }
}

/// Puts problems in the order of the fields (a control under `controls`),
/// unknown fields and the file's own last; stable otherwise.
pub fn order(problems: &mut [Problem]) {
    let rank = |problem: &Problem| {
        let top = problem.field.split('.').next().unwrap_or_default();
        FIELDS.iter().position(|spec| spec.name == top).unwrap_or(FIELDS.len())
    };
    problems.sort_by_key(rank);
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

fn placeholder(kind: Kind) -> Value {
    match kind {
        Kind::Text => Value::String("-".into()),
        Kind::Enum(values) => Value::String(values()[0].into()),
        Kind::Count | Kind::Amount => Value::from(0),
        Kind::List => Value::Array(Vec::new()),
        Kind::Controls => Value::Object(Map::new()),
    }
}

/// Whether `value` has the shape of `spec`; each problem goes to `problems`.
fn check(spec: &Field, value: &Value, problems: &mut Vec<Problem>) -> bool {
    let name = spec.name;
    let mut wrong = |expected: &str| {
        problems.push(Problem::new(name, format!("must be {expected}, not {}", kind_of(value))));
        false
    };
    match spec.kind {
        Kind::Text => value.is_string() || wrong("text"),
        Kind::Enum(values) => match value.as_str() {
            Some(text) if values().contains(&text) => true,
            Some(text) => {
                problems.push(Problem::new(name, format!("{text:?} is not one of: {}", values().join(", "))));
                false
            }
            None => wrong(&format!("one of: {}", values().join(", "))),
        },
        Kind::Count => match value.as_u64() {
            Some(count) if count <= u64::from(u32::MAX) => true,
            _ if value.is_number() => {
                problems.push(Problem::new(name, format!("must be a whole number from 0 to {}", u32::MAX)));
                false
            }
            _ => wrong("a whole number"),
        },
        Kind::Amount => value.is_number() || wrong("a number"),
        Kind::List => match value.as_array() {
            Some(items) if items.iter().all(Value::is_string) => true,
            Some(_) => {
                problems.push(Problem::new(name, "must be a list of text entries"));
                false
            }
            None => wrong("a list of text entries"),
        },
        Kind::Controls => {
            let Some(controls) = value.as_object() else { return wrong("a table of controls") };
            let mut fine = true;
            for (key, set) in controls {
                let field = format!("controls.{key}");
                if !CONTROLS.contains(&key.as_str()) {
                    problems.push(Problem::new(field, unknown(key, CONTROLS)));
                    fine = false;
                } else if !set.is_boolean() {
                    problems.push(Problem::new(field, format!("must be true or false, not {}", kind_of(set))));
                    fine = false;
                }
            }
            fine
        }
    }
}

/// "is not a field" with the closest known name, when one is close.
fn unknown(key: &str, known: &[&str]) -> String {
    let closest = known
        .iter()
        .map(|name| (edit_distance(key, name), *name))
        .filter(|(distance, name)| *distance <= 3.min(name.len() / 2).max(1))
        .min();
    match closest {
        Some((_, name)) => format!("is not a field; did you mean {name:?}?"),
        None => format!("is not a field (the fields are: {})", known.join(", ")),
    }
}

/// Levenshtein distance over characters, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&byte| byte == b'\n').count() + 1
}

/// The line a TOML field is set on: `key = …` at the top level, or `key`
/// under `[controls]` (or `controls.key = …`) for `controls.key`.
fn toml_line_of(text: &str, field: &str) -> Option<usize> {
    let (table, key) = match field.split_once('.') {
        Some((table, key)) => (Some(table), key),
        None => (None, field),
    };
    let sets = |line: &str, key: &str| {
        line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
            || line.strip_prefix(&format!("\"{key}\"")).is_some_and(|rest| rest.trim_start().starts_with('='))
    };
    let mut current: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|rest| rest.split(']').next()) {
            current = Some(header.trim().to_string());
            continue;
        }
        let found = match (table, current.as_deref()) {
            (None, None) => sets(line, key),
            (Some(table), None) => sets(line, &format!("{table}.{key}")) || sets(line, table),
            (Some(table), Some(header)) => header == table && sets(line, key),
            (None, Some(_)) => false,
        };
        if found {
            return Some(index + 1);
        }
    }
    None
}

/// The first line of a JSON file holding `"key":` for the field's last part.
fn json_line_of(text: &str, field: &str) -> Option<usize> {
    let key = field.rsplit('.').next().unwrap_or(field);
    let quoted = format!("\"{key}\"");
    text.lines()
        .position(|line| line.find(&quoted).is_some_and(|at| line[at + quoted.len()..].trim_start().starts_with(':')))
        .map(|index| index + 1)
}

fn one_of<T: Copy>(all: &[T], name: fn(T) -> &'static str, points: Option<&dyn Fn(T) -> u32>) -> String {
    all.iter()
        .map(|&value| match points {
            Some(points) => format!("{} ({} risk points)", name(value), points(value)),
            None => name(value).to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A commented TOML manifest of every field, with its allowed values and
/// example values that parse and validate as they are.
/// The risk points and the review rules it states are `policy`'s.
pub fn template(policy: &Policy) -> String {
    let rubric = &policy.rules.rubric;
    let data = one_of(DataClass::ALL, DataClass::as_str, Some(&|class| rubric.data_classification.points(class)));
    let connectivity =
        one_of(Connectivity::ALL, Connectivity::as_str, Some(&|c| rubric.external_connectivity.points(c)));
    let environment = one_of(ExecEnv::ALL, ExecEnv::as_str, Some(&|env| rubric.execution_environment.points(env)));
    let bands = crate::domain::policy::user_bands_text(rubric);
    let auto = policy.auto_approval_text();
    let high = crate::domain::policy::approvers_text(policy.review(crate::domain::Tier::High));
    let lifecycle = one_of(LifecycleTier::ALL, LifecycleTier::as_str, None);
    let ttl = TtlClass::ALL
        .iter()
        .map(|class| format!("{} ({} days per approval or renewal)", class.as_str(), policy.ttl_days(*class)))
        .collect::<Vec<_>>()
        .join(", ");
    let short = MAX_SHORT_FIELD_CHARS;
    let long = MAX_PURPOSE_CHARS;
    let items = MAX_LIST_ITEMS;
    let (low, high_from) = (policy.rules.tiers.medium_from, policy.rules.tiers.high_from);
    let below_high = high_from - 1;
    format!(
        r#"# A govdeck app manifest. Check it with `govdeck intake FILE.toml --dry-run`,
# submit it with `govdeck intake FILE.toml`. Lines starting with # are comments.
# Fields marked (required) must be given; the others may be left out.
# Risk: the points of data_classification, expected_users, external_connectivity
# and execution_environment add up to a score; under {low} is low, {low} to {below_high} medium,
# from {high_from} high. Apps of {auto} are approved by policy;
# the rest is reviewed (high risk by {high}).

# The app's name (required; at most {short} characters; unique among live apps).
name = "my-app"
# What the app does, and for whom (required; at most {long} characters).
purpose = "What this app does and for whom"
# The owner's user name: you when left out; a lead or an admin may name another user.
# owner = "your-user-name"
# The team that runs it (required; at most {short} characters).
team = "my-team"
# Who sponsors it and which cost centre pays (at most {short} characters each;
# a reviewer expects both).
sponsor = ""
cost_center = ""

# The most sensitive data it touches (required). One of:
# {data}.
data_classification = "internal"
# How many people will use it (required; a whole number):
# {bands}.
expected_users = 5
# What it talks to outside the platform (required). One of:
# {connectivity}.
external_connectivity = "none"
# Where it runs (required). One of:
# {environment}.
execution_environment = "sandboxed"

# Lists of text, at most {items} entries each.
# The connectors it uses, e.g. ["salesforce"].
connectors = []
# The URLs it serves, e.g. ["https://my-app.apps.internal"].
endpoints = []
# The names of the secrets it uses (never their values), e.g. ["crm-api-key"].
secrets = []
# The environments it runs in, e.g. ["production"].
environments = []

# How much the business leans on it (required). One of:
# {lifecycle}.
lifecycle_tier = "tactical"
# How long one approval keeps it alive (required). One of:
# {ttl}.
ttl_class = "prototype"
# How many days its data is kept (a whole number; 0 when it keeps none).
retention_days = 0
# Its monthly budget (a number of zero or more).
monthly_budget = 0

# The controls in place, each true or false (false when left out).
[controls]
otel = false
backups = false
sbom = false
secrets_in_vault = false
dlp = false
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|problem| problem.field.as_str()).collect()
    }

    #[test]
    fn the_template_parses_as_it_is_and_validates() {
        let manifest = parse(&template(Policy::builtin()), Format::Toml).expect("the template is a valid manifest");
        assert_eq!(manifest.name, "my-app");
        manifest.validate().unwrap();
        // Not approved by policy as it stands: its controls are all off.
        assert_eq!(
            Policy::builtin().intake_review(
                &manifest.risk(Policy::builtin()),
                &manifest.controls,
                manifest.execution_environment
            ),
            crate::domain::risk::IntakeReview::Review(crate::domain::Tier::Medium)
        );
    }

    #[test]
    fn the_template_lists_every_allowed_value_of_every_enum() {
        let text = template(Policy::builtin());
        let all: Vec<&str> = DataClass::ALL
            .iter()
            .map(|v| v.as_str())
            .chain(Connectivity::ALL.iter().map(|v| v.as_str()))
            .chain(ExecEnv::ALL.iter().map(|v| v.as_str()))
            .chain(LifecycleTier::ALL.iter().map(|v| v.as_str()))
            .chain(TtlClass::ALL.iter().map(|v| v.as_str()))
            .collect();
        for value in all {
            assert!(text.contains(value), "{value} missing from the template");
        }
        for spec in FIELDS {
            assert!(text.contains(&format!("{} =", spec.name)) || spec.name == "controls", "{}", spec.name);
        }
        for control in CONTROLS {
            assert!(text.contains(&format!("{control} =")), "{control}");
        }
    }

    #[test]
    fn the_format_is_told_by_the_extension() {
        assert_eq!(Format::of_path(Path::new("app.toml")), Ok(Format::Toml));
        assert_eq!(Format::of_path(Path::new("APP.JSON")), Ok(Format::Json));
        let err = Format::of_path(Path::new("app.yaml")).unwrap_err().to_string();
        assert!(err.contains(".toml") && err.contains(".json"), "{err}");
        let err = Format::of_path(Path::new("-")).unwrap_err().to_string();
        assert!(err.contains(".toml") && err.contains(".json"), "{err}");
        assert!(Format::of_path(Path::new("manifest")).is_err());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_field_and_line() {
        let text = r#"name = ""
purpose = "p"
teem = "sales"
data_classification = "secret"
expected_users = "many"
external_connectivity = "none"
execution_environment = "sandboxed"
lifecycle_tier = "tactical"
connectors = [1]
monthly_budget = -5

[controls]
otel = "yes"
sbon = true
"#;
        let problems = parse(text, Format::Toml).unwrap_err();
        assert_eq!(
            fields(&problems),
            [
                "name",
                "team",
                "data_classification",
                "expected_users",
                "connectors",
                "ttl_class",
                "monthly_budget",
                "controls.otel",
                "controls.sbon",
                "teem"
            ]
        );
        let by =
            |field: &str| problems.iter().find(|p| p.field == field).unwrap_or_else(|| panic!("{field}: {problems:?}"));
        assert_eq!(by("name").problem, "must not be empty");
        assert_eq!(by("name").line, Some(1));
        assert_eq!(by("team").problem, "is required");
        assert!(by("teem").problem.contains("did you mean \"team\""), "{:?}", by("teem"));
        assert_eq!(by("teem").line, Some(3));
        let class = &by("data_classification").problem;
        assert!(class.contains("\"secret\"") && class.contains("public, internal, sensitive, pii"), "{class}");
        assert_eq!(by("data_classification").line, Some(4));
        assert_eq!(by("expected_users").problem, "must be a whole number, not text");
        assert_eq!(by("connectors").problem, "must be a list of text entries");
        assert_eq!(by("ttl_class").problem, "is required");
        assert_eq!(by("monthly_budget").problem, "must be a number of zero or more");
        assert_eq!(by("controls.otel").problem, "must be true or false, not text");
        assert_eq!(by("controls.otel").line, Some(13));
        assert!(by("controls.sbon").problem.contains("did you mean \"sbom\""));
        assert_eq!(problems.len(), 10, "{problems:#?}");
    }

    #[test]
    fn a_toml_syntax_error_says_its_line() {
        let problems = parse("name = \"a\"\npurpose = \n", Format::Toml).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].field.as_str(), problems[0].line), ("file", Some(2)));
        assert!(problems[0].to_string().starts_with("line 2: file: "), "{}", problems[0]);
    }

    #[test]
    fn json_manifests_parse_and_their_problems_name_lines_too() {
        let json = serde_json::to_string_pretty(&crate::domain::app::tests::manifest()).unwrap();
        assert_eq!(parse(&json, Format::Json).unwrap(), crate::domain::app::tests::manifest());
        let broken = json.replace("\"pii\"", "\"secret\"");
        let problems = parse(&broken, Format::Json).unwrap_err();
        assert_eq!(fields(&problems), ["data_classification"]);
        assert!(problems[0].line.is_some());
        let problems = parse("{\"name\": ", Format::Json).unwrap_err();
        assert_eq!(fields(&problems), ["file"]);
        let problems = parse("[1, 2]", Format::Json).unwrap_err();
        assert_eq!(problems[0].problem, "a manifest is a table of fields, not a list");
    }

    #[test]
    fn an_unknown_field_far_from_any_lists_the_fields() {
        let problems = from_value(serde_json::json!({"zzzzzzzz": 1})).unwrap_err();
        let unknown = problems.iter().find(|p| p.field == "zzzzzzzz").unwrap();
        assert!(unknown.problem.contains("the fields are: name, purpose"), "{}", unknown.problem);
        // Every required field is reported missing beside it.
        assert_eq!(problems.iter().filter(|p| p.problem == "is required").count(), 9);
    }

    #[test]
    fn counts_out_of_range_and_inline_controls() {
        let mut value = serde_json::to_value(crate::domain::app::tests::manifest()).unwrap();
        value["expected_users"] = serde_json::json!(-1);
        value["retention_days"] = serde_json::json!(5_000_000_000u64);
        let problems = from_value(value).unwrap_err();
        assert_eq!(fields(&problems), ["expected_users", "retention_days"]);
        assert!(problems[0].problem.contains("from 0 to 4294967295"));
        let text = template(Policy::builtin()).replace("[controls]\notel = false", "[controls]\notel = 1");
        let problems = parse(&text, Format::Toml).unwrap_err();
        assert_eq!(problems[0].field, "controls.otel");
        assert_eq!(problems[0].line, toml_line_of(&text, "controls.otel"));
        assert!(problems[0].line.is_some());
    }

    #[test]
    fn edit_distance_edges() {
        assert_eq!(edit_distance("team", "team"), 0);
        assert_eq!(edit_distance("teem", "team"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("Purpose", "purpose"), 0);
    }
}
