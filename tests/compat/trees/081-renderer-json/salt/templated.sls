#!jinja|json
{
  "json-{{ grains.os | lower }}": {
    "test.nop": [{"n": {{ 1 + 2 }}}, {"flag": true}, {"none": null}]
  }
}
