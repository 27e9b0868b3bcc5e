//! Brine's network edge, kept apart from the language crate (`common`) so that
//! the compiler and the state engine link no sockets, no async runtime and no
//! cryptography.
//!
//! - [`keys`]: identity key files (0600, refused when others can read them) and fingerprints.
//! - [`noise`]: the Noise XX handshake and sessions (counter nonces, chunking, rekeying).
//! - [`wire`]: every network message as a typed enum, MessagePack, size-limited.
//! - [`link`]: the DEALER side of a session (the minion's and the operator's).
//! - [`rpc`]: requests answered by the other side, waited on by blocking code.
//!
//! **Invariant:** only [`link`] opens a socket, and only when asked; nothing here reads
//! a file it was not handed.
mod jid;
pub mod keys;
pub mod link;
pub mod noise;
pub mod rpc;
pub mod wire;
pub mod wire_plan;
