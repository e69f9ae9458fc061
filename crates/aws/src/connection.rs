//! Connections: how the app reaches one payer. The non-secret settings live
//! in `connections.json` in the config dir; access keys (when a connection
//! does not use a profile) live only in the OS keyring. Standard AWS
//! configuration is honoured as the SDK does it: `AWS_PROFILE`, shared
//! config/credentials files (SSO profiles too), `AWS_ENDPOINT_URL` and
//! `AWS_ENDPOINT_URL_<SERVICE>`, config-file `services` sections.

use std::path::{Path, PathBuf};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};

use crate::athena::AthenaPlace;
use crate::secrets::{self, SecretError, SecretStore};

/// Why a connection could not be saved, found or used.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// A setting breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// No connection of that name.
    #[error("no connection named '{name}'; known: {known}; add the connection first")]
    NotFound {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// The config file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The keyring failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// `s3://bucket/prefix/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Location {
    /// Bucket.
    pub bucket: String,
    /// Key prefix, empty or ending in `/`.
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(text: &str) -> Result<Self, ConnectionError> {
        let bad = || {
            ConnectionError::Invalid(format!(
                "the results location '{text}' is not an S3 location: use s3://BUCKET/PREFIX/"
            ))
        };
        let rest = text.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !bucket_ok {
            return Err(bad());
        }
        let mut prefix = prefix.to_string();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Self {
            bucket: bucket.to_string(),
            prefix,
        })
    }

    /// `s3://bucket/prefix/`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Where a connection's credentials come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialSource {
    /// The SDK's default chain, with this profile if set (`AWS_PROFILE`
    /// otherwise): env keys, shared files, SSO, process, instance roles.
    Profile {
        /// The profile.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
    },
    /// Access keys kept in the OS keyring under the connection's name.
    Keyring,
}

/// One payer: how to reach it and where its data and views are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Its name.
    pub name: String,
    /// Credentials.
    pub credentials: CredentialSource,
    /// Region (else the profile's or `AWS_REGION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// A role to assume in the payer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Glue database of the CUR table.
    pub cur_database: String,
    /// The CUR table.
    pub cur_table: String,
    /// Athena workgroup.
    pub workgroup: String,
    /// Athena results location.
    pub results: S3Location,
    /// Database the integrations' views are made in.
    pub views_database: String,
}

fn check_name(name: &str) -> Result<(), ConnectionError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(ConnectionError::Invalid(format!(
            "'{name}' cannot be a connection name: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )))
    }
}

fn check_glue_name(what: &str, name: &str) -> Result<(), ConnectionError> {
    let ok = (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ConnectionError::Invalid(format!(
            "{what} '{name}' is not a Glue name: use lowercase letters, digits and _"
        )))
    }
}

impl Connection {
    /// Checks every setting; the message says which flag to fix.
    pub fn validate(&self) -> Result<(), ConnectionError> {
        check_name(&self.name)?;
        check_glue_name(
            "the CUR database (--cur-table DB.TABLE)",
            &self.cur_database,
        )?;
        check_glue_name("the CUR table (--cur-table DB.TABLE)", &self.cur_table)?;
        check_glue_name("--views-database", &self.views_database)?;
        let wg_ok = (1..=128).contains(&self.workgroup.len())
            && self
                .workgroup
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !wg_ok {
            return Err(ConnectionError::Invalid(format!(
                "--workgroup '{}' is not an Athena workgroup name (letters, digits, . _ -)",
                self.workgroup
            )));
        }
        if let Some(arn) = &self.role_arn {
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            let ok = parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "iam"
                && parts[4].len() == 12
                && parts[4].chars().all(|c| c.is_ascii_digit())
                && parts[5].starts_with("role/");
            if !ok {
                return Err(ConnectionError::Invalid(format!(
                    "--role-arn '{arn}' is not a role ARN: use arn:aws:iam::ACCOUNT:role/NAME"
                )));
            }
        }
        if let Some(x) = &self.external_id {
            if self.role_arn.is_none() {
                return Err(ConnectionError::Invalid(
                    "--external-id needs --role-arn: the external id is sent when assuming that role".into(),
                ));
            }
            let ok = (2..=1224).contains(&x.len())
                && x.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-".contains(c));
            if !ok {
                return Err(ConnectionError::Invalid(
                    "--external-id must be 2-1224 characters of letters, digits and +=,.@:/-"
                        .into(),
                ));
            }
        }
        if let Some(r) = &self.region {
            let ok = !r.is_empty()
                && r.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                return Err(ConnectionError::Invalid(format!(
                    "--region '{r}' is not a region such as us-east-1"
                )));
            }
        }
        Ok(())
    }

    /// Where its Athena work happens.
    pub fn athena_place(&self) -> AthenaPlace {
        AthenaPlace {
            cur_database: self.cur_database.clone(),
            cur_table: self.cur_table.clone(),
            views_database: self.views_database.clone(),
            workgroup: self.workgroup.clone(),
            results: Some(self.results.uri()),
        }
    }

    /// The SDK configuration that reaches the payer: profile or keyring
    /// keys, region, then the role assumed (with its external id).
    pub async fn sdk_config(
        &self,
        store: &dyn SecretStore,
    ) -> Result<aws_config::SdkConfig, ConnectionError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        match &self.credentials {
            CredentialSource::Profile { profile: Some(p) } => loader = loader.profile_name(p),
            CredentialSource::Profile { profile: None } => {}
            CredentialSource::Keyring => {
                let keys = secrets::access_keys(store, &self.name)?.ok_or_else(|| {
                    ConnectionError::Invalid(format!(
                        "connection '{}' keeps its access keys in the OS keyring, but there are none; add the connection again with --access-key-id",
                        self.name
                    ))
                })?;
                loader = loader.credentials_provider(Credentials::new(
                    keys.access_key_id,
                    keys.secret_access_key.expose(),
                    keys.session_token.map(|t| t.expose().to_string()),
                    None,
                    "costcarve-keyring",
                ));
            }
        }
        if let Some(r) = &self.region {
            loader = loader.region(Region::new(r.clone()));
        }
        let base = loader.load().await;
        let Some(role) = &self.role_arn else {
            return Ok(base);
        };
        let mut assume =
            aws_config::sts::AssumeRoleProvider::builder(role.clone()).session_name("costcarve");
        if let Some(x) = &self.external_id {
            assume = assume.external_id(x.clone());
        }
        let provider = assume.configure(&base).build().await;
        Ok(base
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build())
    }
}

/// The saved connections: `connections.json` in the config dir.
#[derive(Debug, Clone)]
pub struct ConnectionStore {
    path: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ConnectionsFile {
    version: u32,
    connections: Vec<Connection>,
}

impl ConnectionStore {
    /// The store in this config dir.
    pub fn new(config_dir: &Path) -> Self {
        Self {
            path: config_dir.join("connections.json"),
        }
    }

    /// The file it is kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, reason: impl ToString) -> ConnectionError {
        ConnectionError::Io {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    fn read(&self) -> Result<ConnectionsFile, ConnectionError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| self.io(format!("damaged ({e}); fix or remove the file"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConnectionsFile::default()),
            Err(e) => Err(self.io(e)),
        }
    }

    fn write(&self, file: &ConnectionsFile) -> Result<(), ConnectionError> {
        let text = serde_json::to_vec_pretty(file).map_err(|e| self.io(e))?;
        costcarve_core::files::write_atomic(&self.path, &text).map_err(|e| self.io(e))
    }

    /// All connections, by name.
    pub fn list(&self) -> Result<Vec<Connection>, ConnectionError> {
        let mut all = self.read()?.connections;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// One connection.
    pub fn get(&self, name: &str) -> Result<Connection, ConnectionError> {
        let all = self.list()?;
        let known = all
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        all.iter()
            .find(|c| c.name == name)
            .cloned()
            .ok_or_else(|| ConnectionError::NotFound {
                name: name.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known
                },
            })
    }

    /// Adds or replaces a connection (validated first; nothing is written
    /// when it is refused).
    pub fn put(&self, connection: Connection) -> Result<(), ConnectionError> {
        connection.validate()?;
        let mut file = self.read()?;
        file.version = 1;
        file.connections.retain(|c| c.name != connection.name);
        file.connections.push(connection);
        self.write(&file)
    }

    /// Removes a connection and its keyring entry; `false` if it did not exist.
    pub fn remove(&self, name: &str, store: &dyn SecretStore) -> Result<bool, ConnectionError> {
        let mut file = self.read()?;
        let before = file.connections.len();
        file.connections.retain(|c| c.name != name);
        let existed = file.connections.len() != before;
        if existed {
            self.write(&file)?;
        }
        store.delete(&crate::secrets::SecretKey::connection(name))?;
        Ok(existed)
    }
}

impl costcarve_core::error::Coded for ConnectionError {
    fn code(&self) -> costcarve_core::error::ErrorCode {
        use costcarve_core::error::ErrorCode;
        match self {
            ConnectionError::Invalid(_) => ErrorCode::InvalidInput,
            ConnectionError::NotFound { .. } => ErrorCode::NotFound,
            ConnectionError::Io { .. } => ErrorCode::Io,
            ConnectionError::Secret(e) => costcarve_core::error::Coded::code(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection {
            name: "acme-payer".into(),
            credentials: CredentialSource::Profile { profile: None },
            region: Some("us-east-1".into()),
            role_arn: None,
            external_id: None,
            cur_database: "cur".into(),
            cur_table: "cur2".into(),
            workgroup: "primary".into(),
            results: S3Location::parse("s3://results-bucket/athena").unwrap(),
            views_database: "costcarve_views".into(),
        }
    }

    #[test]
    fn s3_locations() {
        let l = S3Location::parse("s3://my-bucket/a/b").unwrap();
        assert_eq!(l.uri(), "s3://my-bucket/a/b/");
        assert_eq!(
            S3Location::parse("s3://my-bucket").unwrap().uri(),
            "s3://my-bucket/"
        );
        for bad in ["my-bucket/x", "s3://", "s3://UPPER/x", "https://b/x"] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_flag() {
        conn().validate().unwrap();
        let mut c = conn();
        c.external_id = Some("abc".into());
        assert!(c.validate().unwrap_err().to_string().contains("--role-arn"));
        c.role_arn = Some("arn:aws:iam::123:role/x".into());
        assert!(c.validate().unwrap_err().to_string().contains("--role-arn"));
        c.role_arn = Some("arn:aws:iam::123456789012:role/CostCarve".into());
        c.validate().unwrap();
        let mut c = conn();
        c.views_database = "Views; DROP".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--views-database"));
        let mut c = conn();
        c.name = "-x".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConnectionStore::new(dir.path());
        assert!(store.list().unwrap().is_empty());
        store.put(conn()).unwrap();
        assert_eq!(store.get("acme-payer").unwrap(), conn());
        let err = store.get("nope").unwrap_err().to_string();
        assert!(err.contains("acme-payer"), "{err}");
        let mut bad = conn();
        bad.name = "b".into();
        bad.workgroup = "no spaces".into();
        assert!(store.put(bad).is_err());
        assert_eq!(store.list().unwrap().len(), 1);
    }
}
