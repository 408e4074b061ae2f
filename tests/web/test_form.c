/* tests/web/test_form.c: form bodies and query strings (web/form.c). */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/err.h"
#include "web/form.h"

TestSuite(web_form);

static int parse(web_form *f, const char *s, const web_form_limits *lim)
{
  return web_form_parse(f, s, strlen(s), lim);
}

Test(web_form, pairs_are_split_and_decoded)
{
  web_form f;

  cr_assert_eq(parse(&f, "name=Sam+O%27Neil&words=%22he+hit+me%22%0D%0Asaid&&flag&x=&"
                         "box=1&box=2&caf%C3%A9=%E2%9C%93&eq=a=b", NULL), BT_OK);
  cr_assert_eq(f.n, 8);
  cr_assert_str_eq(f.v[0].name, "name");
  cr_assert_str_eq(f.v[0].value, "Sam O'Neil");
  cr_assert_str_eq(web_form_get(&f, "words"), "\"he hit me\"\r\nsaid");
  cr_assert_str_eq(web_form_get(&f, "flag"), "", "a name alone has an empty value");
  cr_assert_str_eq(web_form_get(&f, "x"), "");
  cr_assert_str_eq(web_form_get(&f, "box"), "1", "the first of repeated names");
  cr_assert_str_eq(f.v[5].value, "2");
  cr_assert_str_eq(web_form_get(&f, "caf\xc3\xa9"), "\xe2\x9c\x93");
  cr_assert_str_eq(web_form_get(&f, "eq"), "a=b", "split on the first '='");
  cr_assert_eq(f.v[7].value_len, 3);
  cr_assert_null(web_form_get(&f, "missing"));
  web_form_free(&f);
  cr_assert_null(f.v);
  web_form_free(&f); /* twice is harmless */
  web_form_free(NULL);
}

Test(web_form, empty_input_gives_no_pairs)
{
  web_form f;

  cr_assert_eq(web_form_parse(&f, NULL, 0, NULL), BT_OK);
  cr_assert_eq(f.n, 0);
  web_form_free(&f);
  cr_assert_eq(parse(&f, "&&&", NULL), BT_OK);
  cr_assert_eq(f.n, 0);
  web_form_free(&f);
}

Test(web_form, broken_escapes_nul_and_bad_utf8_are_refused)
{
  static const char *bad[] = {
    "a=%00",        "a%00=1",        "a=%",          "a=%4",           "a=%4g",
    "a=%C0%AF",     "a=%E0%80%AF",   "a=%ED%A0%80",  "a=%F4%90%80%80", "a=%FF",
    "a=%C3",        "a=x\xc3",       "a\x01=1",      "a=%01",          "a=%7F",
    "a%0A=1",       "a%09=1",        "a=%1B%5B31m",
  };
  web_form f = {0};

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_eq(parse(&f, bad[i], NULL), BT_EPROTO, "%s accepted", bad[i]);
    cr_assert_null(f.v, "nothing is written on failure");
  }
  cr_assert_eq(parse(&f, "a=%09tab%0Aline%0D", NULL), BT_OK, "tab, CR and LF in values");
  cr_assert_str_eq(f.v[0].value, "\ttab\nline\r");
  web_form_free(&f);
}

Test(web_form, limits_hold_at_their_edges)
{
  web_form_limits lim = {.max_params = 3, .max_name = 4, .max_value = 5};
  web_form f;

  cr_assert_eq(parse(&f, "a=1&b=2&c=3", &lim), BT_OK);
  web_form_free(&f);
  cr_assert_eq(parse(&f, "a=1&b=2&c=3&d=4", &lim), BT_ETOOBIG);
  cr_assert_eq(parse(&f, "a=1&&b=2&&c=3&", &lim), BT_OK, "empty pieces do not count");
  web_form_free(&f);
  cr_assert_eq(parse(&f, "abcd=12345", &lim), BT_OK);
  web_form_free(&f);
  cr_assert_eq(parse(&f, "abcde=1", &lim), BT_ETOOBIG);
  cr_assert_eq(parse(&f, "a=123456", &lim), BT_ETOOBIG);
  cr_assert_eq(parse(&f, "%61%62%63%64=%31%32%33%34%35", &lim), BT_OK, "decoded sizes count");
  web_form_free(&f);
  cr_assert_eq(parse(&f, "a=%C3%A9%C3%A9%C3%A9", &lim), BT_ETOOBIG, "6 bytes");
}

Test(web_form, default_limits)
{
  size_t n = WEB_FORM_MAX_PARAMS * 4 + 1, len = 0;
  char *s = malloc(n + WEB_FORM_MAX_VALUE + 8);
  web_form f;

  for (int i = 0; i < WEB_FORM_MAX_PARAMS; i++)
    len += (size_t)sprintf(s + len, "%s%c=1", i ? "&" : "", 'a' + i % 26);
  cr_assert_eq(web_form_parse(&f, s, len, NULL), BT_OK);
  cr_assert_eq(f.n, WEB_FORM_MAX_PARAMS);
  web_form_free(&f);
  len += (size_t)sprintf(s + len, "&z=1");
  cr_assert_eq(web_form_parse(&f, s, len, NULL), BT_ETOOBIG);
  memcpy(s, "v=", 2);
  memset(s + 2, 'v', WEB_FORM_MAX_VALUE + 1);
  cr_assert_eq(web_form_parse(&f, s, 2 + WEB_FORM_MAX_VALUE, NULL), BT_OK);
  cr_assert_eq(f.v[0].value_len, WEB_FORM_MAX_VALUE);
  web_form_free(&f);
  cr_assert_eq(web_form_parse(&f, s, 3 + WEB_FORM_MAX_VALUE, NULL), BT_ETOOBIG);
  free(s);
}

Test(web_form, the_query_of_a_request)
{
  const char *s = "GET /search?q=child+A&page=2 HTTP/1.1\r\nHost: h\r\n\r\n";
  web_http_parser *p;
  web_form f;
  size_t used;

  cr_assert_eq(web_http_parser_new(&p, NULL), BT_OK);
  cr_assert_eq(web_http_feed(p, s, strlen(s), &used), WEB_HTTP_REQUEST);
  cr_assert_eq(web_form_query(&f, web_http_request(p), NULL), BT_OK);
  cr_assert_str_eq(web_form_get(&f, "q"), "child A");
  cr_assert_str_eq(web_form_get(&f, "page"), "2");
  web_form_free(&f);
  web_http_parser_free(p);
}

static uint64_t rnd(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Property: encode random pairs (any bytes of valid UTF-8 text, '&', '=',
 * '+', '%'), parse them back, get the same pairs. */
Test(web_form, encoding_then_parsing_gives_the_pairs_back)
{
  static const char *alphabet[] = {"a", "Z", "0", " ", "&", "=", "+", "%", "\xc3\xa9",
                                   "\xe2\x9c\x93", "\xf0\x9f\x98\x80", "\n", "\t", "~", "/"};
  for (uint64_t seed = 1; seed <= 300; seed++) {
    uint64_t s = seed * 0x2545f4914f6cdd1dull;
    size_t n = 1 + rnd(&s) % 10, len = 0;
    char names[10][64], values[10][256], enc[10 * 3 * 320 + 16];
    web_form f;
    for (size_t i = 0; i < n; i++) {
      char *fields[2] = {names[i], values[i]};
      size_t caps[2] = {8, 40};
      for (int k = 0; k < 2; k++) {
        size_t m = (k == 0 ? 1 : 0) + rnd(&s) % caps[k], at = 0;
        for (size_t j = 0; j < m; j++) {
          const char *piece = alphabet[rnd(&s) % (sizeof alphabet / sizeof *alphabet)];
          if (k == 0 && (*piece == '\n' || *piece == '\t'))
            piece = "n";
          at += (size_t)sprintf(fields[k] + at, "%s", piece);
        }
        fields[k][at] = '\0';
        if (i || k)
          enc[len++] = k ? '=' : '&';
        for (const unsigned char *c = (const unsigned char *)fields[k]; *c; c++) {
          if (*c == ' ' && rnd(&s) % 2)
            enc[len++] = '+';
          else if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '~')
            enc[len++] = (char)*c;
          else
            len += (size_t)sprintf(enc + len, "%%%02X", *c);
        }
      }
    }
    cr_assert_eq(web_form_parse(&f, enc, len, NULL), BT_OK, "seed %" PRIu64, seed);
    cr_assert_eq(f.n, n, "seed %" PRIu64, seed);
    for (size_t i = 0; i < n; i++) {
      cr_assert_str_eq(f.v[i].name, names[i], "seed %" PRIu64, seed);
      cr_assert_str_eq(f.v[i].value, values[i], "seed %" PRIu64, seed);
      cr_assert_eq(f.v[i].value_len, strlen(values[i]), "seed %" PRIu64, seed);
    }
    web_form_free(&f);
  }
}
