extra_value: 2
seen_default: {{ from_defaults }}
