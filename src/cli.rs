//! Command-line definitions (clap derive) and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Publish npm packages from CI with OIDC trusted publishing.
#[derive(Debug, Parser)]
#[command(name = "trustpub", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make the tarball npm would make (same files, same tar bytes).
    Pack(PackArgs),
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
