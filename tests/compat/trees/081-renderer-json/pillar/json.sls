#!json
{"ports": [80, 443], "nested": {"b": 2, "a": 1}}
