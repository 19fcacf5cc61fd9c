//! Dialing peers: a dial on request, redials of known addresses, and the one retry from a fresh
//! port when the listen port a dial binds to is taken. A child of `actor`.

use libp2p::Multiaddr;
use libp2p::PeerId;
use libp2p::swarm::ConnectionId;
use libp2p::swarm::dial_opts::DialOpts;
use tokio::sync::oneshot;
use tracing::debug;

use super::Actor;
use crate::net::NetError;
use crate::net::invite::peer_of;

impl Actor {
    pub(super) fn dial(
        &mut self,
        address: Multiaddr,
        reply: oneshot::Sender<Result<PeerId, NetError>>,
    ) {
        if let Some(peer) = peer_of(&address)
            && self.refuse_denied(Some(peer), "dial")
        {
            let _ = reply.send(Err(NetError::FederationDenied(peer)));
            return;
        }
        self.remember(&address);
        if let Some(peer) = peer_of(&address) {
            if self.blocked.contains_key(&peer) {
                let _ = reply.send(Err(NetError::Dial("peer blocked".into())));
                return;
            }
            if self.connected.contains(&peer) {
                let _ = reply.send(Ok(peer));
                return;
            }
        }
        match self.dial_from_listen_port(address.into()) {
            Ok(id) => {
                self.dials.insert(id, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(NetError::Dial(e.to_string())));
            }
        }
    }

    pub(super) fn redial(&mut self) {
        let mut targets: Vec<Multiaddr> = self.bootstrap.clone();
        for (peer, addresses) in &self.addresses {
            if !self.connected.contains(peer)
                && !self.blocked.contains_key(peer)
                && !self.denied.contains(peer)
            {
                targets.extend(addresses.iter().take(1).cloned());
            }
        }
        for address in targets {
            if let Some(peer) = peer_of(&address)
                && (self.connected.contains(&peer)
                    || self.blocked.contains_key(&peer)
                    || self.denied.contains(&peer))
            {
                continue;
            }
            let _ = self.dial_from_listen_port(address.into());
        }
    }

    /// Dials with `options` (which reuse the listen port), remembering the dial so that a
    /// refusal of the port is retried from a fresh one.
    pub(super) fn dial_from_listen_port(
        &mut self,
        options: DialOpts,
    ) -> Result<ConnectionId, libp2p::swarm::DialError> {
        let id = options.connection_id();
        self.swarm.dial(options)?;
        self.port_reuse_dials.insert(id);
        Ok(id)
    }

    /// A dial from the listen port failed because the kernel refused that port towards the
    /// destination (a connection between the same two ports still lingers, e.g. after either
    /// side restarted): dials the same addresses once more from a fresh port, which nothing
    /// else would do before the next redial tick, and as often as the old connection lingers.
    /// Moves a waiting caller's reply to the new dial. Returns whether it retried.
    pub(super) fn retry_from_fresh_port(
        &mut self,
        connection: ConnectionId,
        peer: Option<PeerId>,
        error: &libp2p::swarm::DialError,
    ) -> bool {
        let libp2p::swarm::DialError::Transport(attempts) = error else {
            return false;
        };
        let taken = port_taken(attempts);
        let Some(first) = taken.first().cloned() else {
            return false;
        };
        let options = match peer {
            Some(peer) => DialOpts::peer_id(peer)
                .addresses(taken)
                .allocate_new_port()
                .build(),
            None => DialOpts::unknown_peer_id()
                .address(first)
                .allocate_new_port()
                .build(),
        };
        let id = options.connection_id();
        if self.swarm.dial(options).is_err() {
            return false;
        }
        debug!(
            ?peer,
            "listen port taken towards the peer; dialled from a fresh port"
        );
        if let Some(reply) = self.dials.remove(&connection) {
            self.dials.insert(id, reply);
        }
        true
    }
}

/// The addresses of `attempts` that failed because the local port was taken (`AddrInUse`): the
/// listen port a dial binds to can also be held by another socket (the kernel may give a port
/// that a connected socket uses to a listener that asked for any port), and then every dial from
/// it fails. The io::Error sits under several transport wrappers (relay, DNS, TCP) whose
/// `source()` skip it, so its kind is read from the debug form.
fn port_taken(attempts: &[(Multiaddr, libp2p::TransportError<std::io::Error>)]) -> Vec<Multiaddr> {
    attempts
        .iter()
        .filter(|(_, e)| format!("{e:?}").contains("AddrInUse"))
        .map(|(address, _)| address.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use libp2p::{Multiaddr, TransportError};

    use super::port_taken;

    #[test]
    fn only_a_taken_port_is_retried_whatever_wraps_it() {
        let address =
            |port: u16| -> Multiaddr { format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap() };
        // As the TCP transport reports it under the DNS and relay transports: an io::Error
        // carrying the transport's own error, which carries the io::Error of the bind.
        let wrapped = Error::other(Error::other(Error::from(ErrorKind::AddrInUse)));
        let attempts = vec![
            (address(1), TransportError::Other(wrapped)),
            (
                address(2),
                TransportError::Other(Error::from(ErrorKind::ConnectionRefused)),
            ),
            (
                address(3),
                TransportError::Other(Error::from(ErrorKind::AddrInUse)),
            ),
            (
                address(4),
                TransportError::MultiaddrNotSupported(address(4)),
            ),
        ];
        assert_eq!(port_taken(&attempts), vec![address(1), address(3)]);
    }
}
