#!json
{
  "from-json": {
    "file.managed": [
      {"name": "/tmp/from-json"},
      {"contents": "{{ left as is }}"},
      {"mode": "0644"}
    ]
  }
}
