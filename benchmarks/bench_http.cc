// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_http.cc - micro benchmarks of the HTTP/1.1 parser through its C API:
 * a typical browser request head (every L7 request pays this), a typical
 * response head, the chunked decoder over a body of 4 KiB chunks, and the
 * request serializer that rewrites a head for the backend.
 */
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "http/http.h"

/* What a current desktop Chrome sends for a page on a site it has cookies for. */
static const char browser_request[] =
	"GET /wiki/Hypertext_Transfer_Protocol?action=view&lang=en HTTP/1.1\r\n"
	"Host: en.wikipedia.org\r\n"
	"Connection: keep-alive\r\n"
	"Cache-Control: max-age=0\r\n"
	"sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", "
	"\"Not-A.Brand\";v=\"99\"\r\n"
	"sec-ch-ua-mobile: ?0\r\n"
	"sec-ch-ua-platform: \"Linux\"\r\n"
	"Upgrade-Insecure-Requests: 1\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
	"Gecko) Chrome/124.0.0.0 Safari/537.36\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
	"image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
	"Sec-Fetch-Site: same-origin\r\n"
	"Sec-Fetch-Mode: navigate\r\n"
	"Sec-Fetch-User: ?1\r\n"
	"Sec-Fetch-Dest: document\r\n"
	"Referer: https://en.wikipedia.org/wiki/Main_Page\r\n"
	"Accept-Encoding: gzip, deflate, br, zstd\r\n"
	"Accept-Language: en-US,en;q=0.9\r\n"
	"Cookie: WMF-Last-Access=29-Nov-2026; GeoIP=NL:NH:Amsterdam:52.37:4.89:v4; "
	"enwikimwuser-sessionId=2b4f0d5e8c1a7f3b9e6d\r\n"
	"\r\n";

static const char typical_response[] = "HTTP/1.1 200 OK\r\n"
				       "Date: Sun, 29 Nov 2026 19:00:00 GMT\r\n"
				       "Content-Type: text/html; charset=UTF-8\r\n"
				       "Content-Length: 84213\r\n"
				       "Connection: keep-alive\r\n"
				       "Server: nginx\r\n"
				       "Cache-Control: private, s-maxage=0, max-age=0\r\n"
				       "Last-Modified: Sat, 28 Nov 2026 10:00:00 GMT\r\n"
				       "Content-Encoding: gzip\r\n"
				       "Vary: Accept-Encoding,Cookie\r\n"
				       "Strict-Transport-Security: max-age=106384710\r\n"
				       "\r\n";

static void BM_http_parse_request(benchmark::State &state)
{
	static rp_http_request req;
	const size_t n = sizeof(browser_request) - 1;

	for (auto _ : state) {
		int ret = rp__http_parse_request(browser_request, n, nullptr, &req);

		benchmark::DoNotOptimize(ret);
		if (ret != static_cast<int>(n)) {
			state.SkipWithError("browser request did not parse");
			return;
		}
	}
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_http_parse_request);

static void BM_http_parse_response(benchmark::State &state)
{
	static rp_http_response resp;
	const size_t n = sizeof(typical_response) - 1;

	for (auto _ : state) {
		int ret = rp__http_parse_response(typical_response, n, nullptr,
						  RP_HTTP_GET, &resp);

		benchmark::DoNotOptimize(ret);
		if (ret != static_cast<int>(n)) {
			state.SkipWithError("response did not parse");
			return;
		}
	}
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_http_parse_response);

static void BM_http_chunked_decode(benchmark::State &state)
{
	std::string body;
	std::string chunk(4096, 'x');

	for (int i = 0; i < 64; i++)
		body += "1000;ext=1\r\n" + chunk + "\r\n";
	body += "0\r\n\r\n";
	for (auto _ : state) {
		rp_http_chunked c;
		rp_http_span d;
		size_t at = 0;
		uint64_t payload = 0;

		rp__http_chunked_init(&c, nullptr);
		while (!c.done) {
			int ret = rp__http_chunked_decode(&c, body.data() + at,
							  body.size() - at, &d);
			if (ret <= 0) {
				state.SkipWithError("chunked body did not decode");
				return;
			}
			payload += d.len;
			at += static_cast<size_t>(ret);
		}
		benchmark::DoNotOptimize(payload);
	}
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_http_chunked_decode);

static void BM_http_serialize_request(benchmark::State &state)
{
	static rp_http_request req;
	static const rp_http_field extra[] = {{"X-Forwarded-For", "192.0.2.17"},
					      {"Via", "1.1 ringproxy"}};
	const size_t n = sizeof(browser_request) - 1;
	char out[4096];

	if (rp__http_parse_request(browser_request, n, nullptr, &req) !=
	    static_cast<int>(n)) {
		state.SkipWithError("browser request did not parse");
		return;
	}
	for (auto _ : state) {
		int ret = rp__http_serialize_request(browser_request, &req, extra, 2, 0,
						     out, sizeof(out));

		benchmark::DoNotOptimize(ret);
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_http_serialize_request);

BENCHMARK_MAIN();
