//! Hostile input on the wire, against real `master serve` and `minion serve`
//! processes on loopback. Each test makes the attempt, shows it is refused
//! (no answer, the connection or session closed), that it is logged, and that
//! nothing changed on either side: no key left pending, no job run, the job
//! cache as it was, and the master still answering a legitimate ping.
//! `docs/hostile-input.md` lists what each test checks.
#[path = "hostile_wire/before_handshake.rs"]
mod before_handshake;
#[path = "hostile_wire/fixture.rs"]
mod fixture;
#[path = "hostile_wire/floods.rs"]
mod floods;
#[path = "hostile_wire/sessions.rs"]
mod sessions;
