//! Connections to payers: add (a secret key goes to the OS keyring only),
//! list, test (the prerequisites report) and remove.

use std::sync::Arc;

use costcarve_aws::connection::{Connection, ConnectionStore, CredentialSource, S3Location};
use costcarve_aws::secrets::{self, AccessKeys, Secret, SecretKey, SecretStore};
use costcarve_core::error::ErrorCode;

pub use costcarve_aws::prereqs::Report;
pub use costcarve_aws::secrets::Keyring;

use crate::{Dirs, OpsError};

/// A connection as typed: in the CLI's flags or the desktop's form.
#[derive(Debug, Clone, Default)]
pub struct NewConnection {
    /// Its name.
    pub name: String,
    /// AWS profile; `None` (and no access key) means the SDK's default chain.
    pub profile: Option<String>,
    /// Access keys to keep in the OS keyring instead of a profile.
    pub access_keys: Option<AccessKeys>,
    /// Region.
    pub region: Option<String>,
    /// Role to assume in the payer.
    pub role_arn: Option<String>,
    /// The external id the role requires.
    pub external_id: Option<String>,
    /// The CUR table, `DB.TABLE`.
    pub cur_table: String,
    /// Athena workgroup.
    pub workgroup: String,
    /// Athena results location, `s3://BUCKET/PREFIX/`.
    pub results: String,
    /// Database the integrations' views are made in.
    pub views_database: String,
}

/// The saved connections.
pub struct Connections {
    store: ConnectionStore,
    secrets: Arc<dyn SecretStore>,
}

/// How a connection authenticates, in words.
pub fn credentials_label(c: &Connection) -> String {
    match &c.credentials {
        CredentialSource::Profile { profile: Some(p) } => format!("profile {p}"),
        CredentialSource::Profile { profile: None } => "default credentials".into(),
        CredentialSource::Keyring => "access keys in the OS keyring".into(),
    }
}

impl Connections {
    /// The connections saved under `dirs`, their secrets in `secrets`.
    pub fn new(dirs: &Dirs, secrets: Arc<dyn SecretStore>) -> Self {
        Self {
            store: ConnectionStore::new(&dirs.config),
            secrets,
        }
    }

    /// The file they are saved in.
    pub fn path(&self) -> &std::path::Path {
        self.store.path()
    }

    /// All of them.
    pub fn list(&self) -> Result<Vec<Connection>, OpsError> {
        Ok(self.store.list()?)
    }

    /// Checks and saves a connection (replacing one of the same name); its
    /// access keys go to the OS keyring, and a profile connection keeps
    /// nothing there.
    pub fn add(&self, new: NewConnection) -> Result<Connection, OpsError> {
        let (db, table) = new.cur_table.split_once('.').ok_or_else(|| {
            OpsError::invalid(format!(
                "the CUR table '{}' needs the database too: DB.TABLE",
                new.cur_table
            ))
        })?;
        let connection = Connection {
            name: new.name.trim().to_string(),
            credentials: match (&new.access_keys, new.profile) {
                (Some(_), _) => CredentialSource::Keyring,
                (None, profile) => CredentialSource::Profile { profile },
            },
            region: new.region,
            role_arn: new.role_arn,
            external_id: new.external_id,
            cur_database: db.to_string(),
            cur_table: table.to_string(),
            workgroup: new.workgroup.trim().to_string(),
            results: S3Location::parse(new.results.trim())?,
            views_database: new.views_database,
        };
        connection.validate()?;
        match &new.access_keys {
            Some(keys) => secrets::set_access_keys(self.secrets.as_ref(), &connection.name, keys)?,
            None => {
                self.secrets
                    .delete(&SecretKey::connection(&connection.name))?;
            }
        }
        self.store.put(connection.clone())?;
        Ok(connection)
    }

    /// Runs the prerequisites check of a connection, one check at a time.
    pub async fn test(&self, name: &str) -> Result<Report, OpsError> {
        let connection = self.store.get(name)?;
        let config = connection.sdk_config(self.secrets.as_ref()).await?;
        Ok(costcarve_aws::prereqs::check(&config, &connection).await)
    }

    /// Removes a connection and its keyring entry (its integrations stay in
    /// the payer).
    pub fn remove(&self, name: &str) -> Result<(), OpsError> {
        if self.store.remove(name, self.secrets.as_ref())? {
            Ok(())
        } else {
            Err(OpsError::new(
                ErrorCode::NotFound,
                format!("no connection named '{name}'"),
            ))
        }
    }
}

/// Access keys as typed: the secret (and an optional session token) never
/// leave Rust and go to the keyring only.
pub fn access_keys(id: String, secret: String, token: Option<String>) -> AccessKeys {
    AccessKeys {
        access_key_id: id,
        secret_access_key: Secret::new(secret),
        session_token: token.map(Secret::new),
    }
}
