//! Hostile names, paths, templates, shells and secrets against the running
//! daemons (real `master serve` and `minion serve` on loopback, or a raw
//! minion session for requests the real minion never makes). Each test
//! shows the attempt is refused, logged where the daemon is the one
//! refusing, and that nothing changed on either side.
//! docs/hostile-input-paths.md lists what each test checks.
#[path = "hostile_input/fixture.rs"]
mod fixture;
#[path = "hostile_input/injection.rs"]
mod injection;
#[path = "hostile_input/roots.rs"]
mod roots;
#[path = "hostile_input/secrets.rs"]
mod secrets;
