//! The YAML loader alone on arbitrary text (SLS after rendering, pillar,
//! `import_yaml`, config files), and the dumper on whatever it loads: a
//! loaded value written by either of Salt's dump styles must load back the
//! same, NaN and the kinds of keys included.
//!
//! Except for text holding U+0085, U+2028 or U+2029: YAML 1.1 (libyaml, and
//! so the emitter ported from it) counts them as line breaks, YAML 1.2
//! (saphyr-parser, under the loader) does not, so a dumped scalar that folds
//! one loads back with the indentation after it (see "Known differences" in
//! common/src/yaml/mod.rs).
#![no_main]
use common::yaml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = yaml::load(text) else {
        return;
    };
    for dumped in [yaml::dump_block(&value), yaml::dump_flow(&value)] {
        if dumped.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
            return;
        }
        let again = yaml::load(&dumped)
            .unwrap_or_else(|e| panic!("dumped YAML does not load: {e}\n{dumped}"));
        // As text, not `==`: a `.nan` is not equal to itself, and equality
        // does not see whether a key was an int; the JSON text and a second
        // dump (which writes `139:` apart from `'139':`) do.
        let json = |v: &serde_json::Value| serde_json::to_string(v).unwrap();
        assert_eq!(
            json(&again),
            json(&value),
            "dump then load changed the value:\n{dumped}"
        );
        assert_eq!(
            yaml::dump_block(&again),
            yaml::dump_block(&value),
            "dump then load changed a key's kind:\n{dumped}"
        );
    }
});
