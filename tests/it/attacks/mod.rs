//! The attacks of the security-hardening issue, replayed against loopback
//! fakes: hostile registries, hostile OIDC endpoints, hostile repository
//! files and archives, and hostile networks. Every run goes through the
//! sandbox, which greps standard output, standard error, the step summary
//! and every file the run wrote for each planted secret, and checks that no
//! output line, split as the GitHub runner splits it, starts with `::`
//! unless trustpub wrote that workflow command itself.

mod credentials;
pub(crate) mod network;
mod output;
mod pack;
mod publishing;
mod resources;
