// Request heads in, parsed requests out; responses in, bytes out. No sockets.
#include "http/request.h"

#include <gtest/gtest.h>

#include <regex>

#include "http/response.h"

namespace hlsd {
namespace {

Request parseOk(std::string_view bytes, size_t* consumed = nullptr) {
    Request r;
    const ParseResult p = parseRequest(bytes, r);
    EXPECT_EQ(p.status, ParseStatus::Complete) << bytes << ": " << p.error;
    if (consumed) *consumed = p.consumed;
    return r;
}

ParseResult parseBad(std::string_view bytes) {
    Request r;
    return parseRequest(bytes, r);
}

TEST(Request, ParsesLineHeadersAndQuery) {
    size_t used = 0;
    const std::string head =
        "GET /live/index.m3u8?_HLS_msn=4&_HLS_part=1 HTTP/1.1\r\nHost: cam\r\n"
        "Range:  bytes=0-9 \r\nX-Empty:\r\n\r\n";
    const Request r = parseOk(head + "GET /next", &used);
    EXPECT_EQ(used, head.size());
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.path, "/live/index.m3u8");
    EXPECT_EQ(r.query, "_HLS_msn=4&_HLS_part=1");
    EXPECT_EQ(r.target, "/live/index.m3u8?_HLS_msn=4&_HLS_part=1");
    EXPECT_EQ(r.header("host"), "cam");
    EXPECT_EQ(r.header("range"), "bytes=0-9");  // names lower-cased, values trimmed
    EXPECT_TRUE(r.hasHeader("x-empty"));
    EXPECT_FALSE(r.hasHeader("cookie"));
    EXPECT_TRUE(r.keepAlive);
    EXPECT_FALSE(r.hasBody);
}

TEST(Request, IncompleteUntilTheBlankLine) {
    Request r;
    EXPECT_EQ(parseRequest("", r).status, ParseStatus::Incomplete);
    EXPECT_EQ(parseRequest("GET / HTTP/1.1\r\nHost: x\r\n", r).status, ParseStatus::Incomplete);
    EXPECT_EQ(parseRequest("GET / HTTP/1.1\r\nHost: x\r\n\r", r).status, ParseStatus::Incomplete);
    // Bare LF line ends are accepted (RFC 9112 §2.2), and leading empty lines ignored.
    EXPECT_EQ(parseRequest("\r\nGET / HTTP/1.1\nHost: x\n\n", r).status, ParseStatus::Complete);
}

TEST(Request, KeepAliveFollowsVersionAndConnection) {
    EXPECT_FALSE(parseOk("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keepAlive);
    EXPECT_FALSE(parseOk("GET / HTTP/1.0\r\n\r\n").keepAlive);
    EXPECT_TRUE(parseOk("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive);
    EXPECT_TRUE(parseOk("GET / HTTP/1.1\r\nConnection: upgrade, x\r\n\r\n").keepAlive);
}

TEST(Request, BodiesAreNoticed) {
    EXPECT_FALSE(parseOk("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").hasBody);
    EXPECT_TRUE(parseOk("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n").hasBody);
    EXPECT_TRUE(parseOk("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").hasBody);
    EXPECT_EQ(parseBad("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n").status, ParseStatus::Bad);
}

TEST(Request, PathsArePercentDecodedQueriesAreNot) {
    EXPECT_EQ(parseOk("GET /live/index%2Em3u8?a=%41 HTTP/1.1\r\n\r\n").path, "/live/index.m3u8");
    EXPECT_EQ(parseOk("GET /live/index%2Em3u8?a=%41 HTTP/1.1\r\n\r\n").query, "a=%41");
    EXPECT_EQ(parseOk("GET http://cam:8080/live/x.ts HTTP/1.1\r\n\r\n").path, "/live/x.ts");
    EXPECT_EQ(parseOk("OPTIONS * HTTP/1.1\r\n\r\n").path, "*");
    EXPECT_EQ(parseOk("GET /a%00 HTTP/1.1\r\n\r\n").path, std::string("/a\0", 3));
}

TEST(Request, MalformedHeadsAreBad) {
    for (const char* head : {
             "GARBAGE\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
             "GET / HTTP/1.1 extra\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
             "GET live HTTP/1.1\r\n\r\n", "GET /a%zz HTTP/1.1\r\n\r\n", "GET /a% HTTP/1.1\r\n\r\n",
             "GET / HTTP/1.1\r\nNo colon\r\n\r\n", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
             "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
             "\x16\x03\x01\x02\x01\x01\x03\x01\r\n\r\n",  // a TLS ClientHello's first bytes
         }) {
        const ParseResult p = parseBad(head);
        EXPECT_EQ(p.status, ParseStatus::Bad) << head;
        EXPECT_FALSE(p.error.empty()) << head;
        EXPECT_EQ(p.httpStatus, 400) << head;
    }
}

TEST(Request, LongTargetsAre414) {
    const ParseResult p = parseBad("GET /" + std::string(kMaxTarget, 'a') + " HTTP/1.1\r\n\r\n");
    EXPECT_EQ(p.status, ParseStatus::Bad);
    EXPECT_EQ(p.httpStatus, 414);
    EXPECT_EQ(parseBad("GET /" + std::string(kMaxTarget - 1, 'a') + " HTTP/1.1\r\n\r\n").status,
              ParseStatus::Complete);
}

TEST(Response, HeadCarriesLengthAndConnection) {
    Response r;
    r.status = 206;
    r.set("Content-Range", "bytes 0-3/10");
    auto owner = std::make_shared<std::string>("abcdefghij");
    r.chunks = sliceChunks({{owner, reinterpret_cast<const uint8_t*>(owner->data()), 6},
                            {owner, reinterpret_cast<const uint8_t*>(owner->data()) + 6, 4}},
                           4, 4);
    ASSERT_EQ(r.chunks.size(), 2u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.chunks[0].data), r.chunks[0].size), "ef");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.chunks[1].data), r.chunks[1].size), "gh");
    // Date (its own test: Cacheable.DateIsAnImfFixdate) as "D", the rest byte for byte.
    auto head = [&] {
        return std::regex_replace(serializeHead(r), std::regex("Date: [^\r]*\r\n"), "D\n");
    };
    EXPECT_NE(serializeHead(r).find("\r\nDate: "), std::string::npos);
    EXPECT_EQ(head(),
              "HTTP/1.1 206 Partial Content\r\nD\nContent-Range: bytes 0-3/10\r\n"
              "Content-Length: 4\r\nConnection: keep-alive\r\n\r\n");
    r.close = true;
    r.status = 404;
    r.chunks.clear();
    r.setText("Not Found\n", "text/plain");
    EXPECT_EQ(head(),
              "HTTP/1.1 404 Not Found\r\nD\nContent-Range: bytes 0-3/10\r\nContent-Type: "
              "text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\n");
}

}  // namespace
}  // namespace hlsd
