//! Arbitrary bytes decoded as every message type a peer may send (and the
//! returns a minion keeps in its outbox): decoding must fail cleanly or give
//! a message that encodes and decodes to itself (to the same bytes, where
//! it holds a NaN).
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};
use transport::wire::{
    self, Admission, Claim, JobReturn, MasterMsg, MinionMsg, OpReply, OpRequest,
};

fn check<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(msg) = wire::decode::<T>(data) else {
        return;
    };
    let bytes = wire::encode(&msg).expect("a decoded message encodes");
    let again = wire::decode::<T>(&bytes).expect("an encoded message decodes");
    // Compared as bytes when `==` cannot say: a NaN float (which the data
    // model holds, as Python does) is not equal to itself.
    if again != msg {
        assert_eq!(
            wire::encode(&again).expect("a decoded message encodes"),
            bytes,
            "a decoded message does not survive re-encoding: {msg:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check::<MinionMsg>(data);
    check::<MasterMsg>(data);
    check::<OpRequest>(data);
    check::<OpReply>(data);
    check::<Claim>(data);
    check::<Admission>(data);
    // The minion's outbox keeps returns on disk in the same encoding.
    check::<JobReturn>(data);
});
