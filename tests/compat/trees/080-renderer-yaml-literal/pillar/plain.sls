#!yaml
message: "{{ not rendered }}"
