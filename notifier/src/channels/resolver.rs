//! A DNS resolver for webhooks that drops forbidden addresses, so a public name cannot be
//! pointed (or rebound) at loopback, the private network or a metadata service: the address
//! checked is the address connected to.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use shared::webhook::is_forbidden_address;

#[derive(Debug, thiserror::Error)]
#[error("webhook host {0} resolves only to loopback, private, link-local or metadata addresses")]
pub struct ForbiddenTarget(pub String);

pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| !is_forbidden_address(addr.ip()))
                .collect();
            if resolved.is_empty() {
                return Err(Box::new(ForbiddenTarget(host)) as Box<_>);
            }
            let addrs: Addrs = Box::new(resolved.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[tokio::test]
    async fn a_name_resolving_only_to_loopback_is_refused() {
        let name = Name::from_str("localhost").expect("a valid name");
        let error = match PublicOnlyResolver.resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(error) => error,
        };
        assert!(error.is::<ForbiddenTarget>(), "{error}");
    }
}
