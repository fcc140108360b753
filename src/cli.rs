//! Command-line definitions (clap derive) and nothing else.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::trust::Mode;

/// Publish npm packages from CI with OIDC trusted publishing.
#[derive(Debug, Parser)]
#[command(
    name = "trustpub",
    version,
    about,
    long_about = None,
    subcommand_value_name = "COMMAND"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make the tarball npm would make (same files, same tar bytes).
    Pack(PackArgs),
    /// Publish a package directory or a .tgz to the registry.
    Publish(PublishArgs),
    /// Check that trusted publishing will work, uploading nothing.
    Doctor(DoctorArgs),
    /// List, diff or sync the trusted publishers of a workspace's packages.
    ///
    /// `npm trust` for every package at once: what the registry holds,
    /// compared with what the release workflow needs, made so.
    Trust(TrustArgs),
    /// Print a shell completion script on standard output.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on standard output.
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The package directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The registry (default: as `publish` would choose it).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// The user npmrc (default: NPM_CONFIG_USERCONFIG or ~/.npmrc).
    #[arg(long, value_name = "FILE")]
    pub userconfig: Option<PathBuf>,
    /// Check a staged publish (`publish --stage`): the token exchange says
    /// `npm-command: stage`, as npm's does.
    #[arg(long)]
    pub stage: bool,
    #[command(flatten)]
    pub workspaces: WorkspaceArgs,
}

/// Which packages of a workspace, as npm spells it (`publish`, `doctor`).
#[derive(Debug, Args, Clone, Default)]
pub struct WorkspaceArgs {
    /// Every package of the workspace around the directory.
    #[arg(long)]
    pub workspaces: bool,
    /// A package of the workspace, by name or by directory (a directory
    /// holding packages selects the packages directly in it, as npm does);
    /// repeatable.
    #[arg(long = "workspace", short = 'w', value_name = "NAME | DIR")]
    pub workspace: Vec<String>,
    /// With --workspaces or --workspace: the root package too.
    #[arg(long)]
    pub include_workspace_root: bool,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The package directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Report what would be packed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print npm's JSON record (an array) on standard output.
    #[arg(long)]
    pub json: bool,
    /// Directory to write the .tgz into (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub pack_destination: Option<PathBuf>,
    /// Do not run prepack, prepare and postpack.
    #[arg(long)]
    pub ignore_scripts: bool,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// A package directory, or a .tgz made earlier.
    #[arg(default_value = ".", value_name = "DIR | FILE.tgz")]
    pub target: PathBuf,
    /// The registry (a `@scope:registry` in .npmrc still wins for scoped names, as in npm).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// The dist-tag (default: latest; a "tag" field in package.json wins, as in npm).
    #[arg(long)]
    pub tag: Option<String>,
    /// public or restricted (default: the registry decides; new scoped packages are restricted).
    #[arg(long)]
    pub access: Option<AccessArg>,
    /// A one-time password for accounts with two-factor authentication.
    #[arg(long, value_name = "CODE")]
    pub otp: Option<String>,
    /// Do everything except the upload; fail when the publish would fail or
    /// could not be checked.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: use no network (no trusted publishing, credential,
    /// version or provenance checks), and say so.
    #[arg(long, requires = "dry_run")]
    pub offline: bool,
    /// Print npm's JSON object (keyed by package name) on standard output.
    #[arg(long)]
    pub json: bool,
    /// Do not run lifecycle scripts.
    #[arg(long)]
    pub ignore_scripts: bool,
    /// Stage the version instead of publishing it, as `npm stage publish`
    /// does: it is published when approved (`npm stage approve <id>`).
    #[arg(long)]
    pub stage: bool,
    /// Exit 0 when this version is already published (and say whether it is the same tarball).
    #[arg(long)]
    pub tolerate_republish: bool,
    /// Skip the pre-upload version checks, as npm's --force does.
    #[arg(long)]
    pub force: bool,
    /// The user npmrc (default: NPM_CONFIG_USERCONFIG or ~/.npmrc).
    #[arg(long, value_name = "FILE")]
    pub userconfig: Option<PathBuf>,
    /// Sign Sigstore provenance (GitHub Actions with id-token: write, or
    /// GitLab CI with SIGSTORE_ID_TOKEN); fail if it cannot be made.
    #[arg(long, overrides_with = "no_provenance")]
    pub provenance: bool,
    /// Never make provenance (not even automatically under trusted publishing).
    #[arg(long)]
    pub no_provenance: bool,
    /// Attach this Sigstore bundle (made elsewhere) instead of signing; its
    /// subject must name this package and this tarball.
    #[arg(long, value_name = "FILE", conflicts_with = "provenance")]
    pub provenance_file: Option<PathBuf>,
    /// Fulcio (the Sigstore certificate authority) to sign with.
    #[arg(long, env = "TRUSTPUB_FULCIO_URL", value_name = "URL")]
    pub fulcio_url: Option<String>,
    /// Rekor (the Sigstore transparency log) to record the signature in.
    #[arg(long, env = "TRUSTPUB_REKOR_URL", value_name = "URL")]
    pub rekor_url: Option<String>,
    /// auto: OIDC in CI, else (or when it fails, with a warning) a token;
    /// always: OIDC or fail; never: tokens only.
    #[arg(
        long,
        env = "TRUSTPUB_TRUSTED_PUBLISHING",
        default_value = "auto",
        value_name = "MODE",
        ignore_case = true
    )]
    pub trusted_publishing: Mode,
    #[command(flatten)]
    pub workspaces: WorkspaceArgs,
    /// Publish although earlier versions went out through trusted
    /// publishing or with provenance and this one would not (a trust
    /// downgrade, which installers may refuse).
    #[arg(long)]
    pub allow_trust_downgrade: bool,
    /// Do what `changeset publish` does after publishing: print
    /// `New tag: <name>@<version>` for each published package (and append
    /// its event to $CHANGESETS_OUTPUT when set) and create that git tag
    /// (`v<version>` outside a workspace).
    #[arg(long, conflicts_with = "json")]
    pub changesets: bool,
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    #[command(subcommand)]
    pub command: TrustCommand,
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Print the trusted-publisher configuration the registry holds for each
    /// package (`npm trust list`).
    List(TrustListArgs),
    /// Compare the registry's configuration with what the release workflow
    /// needs; exit 1 when they differ. Changes nothing.
    Diff(TrustSyncArgs),
    /// Make the registry's configuration what the release workflow needs:
    /// create, replace (revoke, then create) or revoke, paced, idempotent.
    Sync(TrustSyncArgs),
}

/// Where the packages and the registry are (every `trust` subcommand).
#[derive(Debug, Args)]
pub struct TrustTargetArgs {
    /// The package directory, or a workspace root.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub workspaces: WorkspaceArgs,
    /// The registry (default: as `publish` would choose it for each package).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// The user npmrc (default: NPM_CONFIG_USERCONFIG or ~/.npmrc).
    #[arg(long, value_name = "FILE")]
    pub userconfig: Option<PathBuf>,
    /// A one-time password from your authenticator (the registry asks for
    /// one: trust configuration needs two-factor authentication).
    #[arg(long, value_name = "CODE")]
    pub otp: Option<String>,
    /// Print a JSON document on standard output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TrustListArgs {
    #[command(flatten)]
    pub target: TrustTargetArgs,
}

#[derive(Debug, Args)]
pub struct TrustSyncArgs {
    #[command(flatten)]
    pub target: TrustTargetArgs,
    #[command(flatten)]
    pub wanted: TrustWantedArgs,
    /// Print what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking (needed when standard input is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Seconds to wait between two changes (npm's documentation advises 2,
    /// against the registry's rate limits).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub pace: f64,
}

/// The configuration wanted, when the release workflow does not say it (or
/// to override what it says), as `npm trust <provider>` spells it.
#[derive(Debug, Args, Clone, Default)]
pub struct TrustWantedArgs {
    /// The CI provider; `none` revokes the configuration of the selected
    /// packages.
    #[arg(long, value_enum)]
    pub provider: Option<ProviderArg>,
    /// GitHub: owner/repository; GitLab: group/project (or
    /// group/subgroup/project).
    #[arg(long, alias = "repo", alias = "project", value_name = "PATH")]
    pub repository: Option<String>,
    /// The workflow file name (GitHub: release.yml) or the top-level CI file
    /// (GitLab: .gitlab-ci.yml), without a directory.
    #[arg(long, value_name = "FILE")]
    pub file: Option<String>,
    /// The CI environment the publishing job runs in.
    #[arg(
        long,
        alias = "env",
        value_name = "NAME",
        conflicts_with = "no_environment"
    )]
    pub environment: Option<String>,
    /// No environment, even if the publishing job has one.
    #[arg(long)]
    pub no_environment: bool,
    /// Allow publishing (`npm publish`, `trustpub publish`).
    #[arg(long)]
    pub allow_publish: bool,
    /// Allow staged publishing (`npm stage publish`, `trustpub publish --stage`).
    #[arg(long, alias = "allow-staged-publish")]
    pub allow_stage_publish: bool,
    /// CircleCI: the organization UUID.
    #[arg(long, value_name = "UUID")]
    pub org_id: Option<String>,
    /// CircleCI: the project UUID.
    #[arg(long, value_name = "UUID")]
    pub project_id: Option<String>,
    /// CircleCI: the pipeline definition UUID.
    #[arg(long, value_name = "UUID")]
    pub pipeline_definition_id: Option<String>,
    /// CircleCI: provider/owner/repo (github.com/acme/widgets).
    #[arg(long, value_name = "ORIGIN")]
    pub vcs_origin: Option<String>,
    /// CircleCI: a context UUID to match (repeatable).
    #[arg(long, value_name = "UUID")]
    pub context_id: Vec<String>,
}

/// `--provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    Github,
    Gitlab,
    Circleci,
    None,
}

/// `--access` as typed: `private` is npm's alias of `restricted`, and the
/// configuration keeps the word the user chose (`config::Access` resolves it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessArg {
    Public,
    Restricted,
    Private,
}

impl AccessArg {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessArg::Public => "public",
            AccessArg::Restricted => "restricted",
            AccessArg::Private => "private",
        }
    }
}

// Written out rather than derived, so that `as_str` is the one spelling of
// each value (and, for `Mode`, because a derived `ValueEnum` takes the
// variants' doc comments as help, which changes how `--help` lists them).
impl ValueEnum for AccessArg {
    fn value_variants<'a>() -> &'a [Self] {
        &[AccessArg::Public, AccessArg::Restricted, AccessArg::Private]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

impl ValueEnum for Mode {
    fn value_variants<'a>() -> &'a [Self] {
        &[Mode::Auto, Mode::Always, Mode::Never]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}
