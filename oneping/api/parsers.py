"""The API's JSON parser: DRF's, refusing two more kinds of body as invalid JSON.

- Nesting deep enough to exhaust Python's recursion (`[[[[…`: 100 000 levels fit well
  under the body size limit) raised RecursionError, a 500.
- Numbers that overflow a float (`1e999`) became `inf`, which no database stores, a 503.
"""

import codecs
import math

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            # rest_framework.utils.json refuses NaN and Infinity spelled out, as DRF does.
            return json.loads(text, parse_float=_finite_float)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError("JSON parse error - the body nests too deeply") from None
