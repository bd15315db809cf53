// Test support: a minimal HTTP/1.1 client over a raw socket, so tests see exactly what the
// server sent (status line, every header, body bytes) and can send malformed requests.
#pragma once

#include <map>
#include <string>

namespace hlsd::test {

struct HttpResponse {
    int status = 0;  // 0: no (parsable) answer
    std::string statusLine;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    bool closed = false;  // the server closed the connection after this response

    std::string header(const std::string& lowerName) const {
        auto it = headers.find(lowerName);
        return it == headers.end() ? "" : it->second;
    }
};

// A connected TCP socket (-1 on failure), reads and writes bounded by `timeoutSeconds` (0: none).
int connectTcp(const std::string& host, int port, double timeoutSeconds = 5);

class HttpConnection {
public:
    HttpConnection(const std::string& host, int port, double timeoutSeconds = 5);
    virtual ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    bool connected() const { return fd_ >= 0; }
    bool sendRaw(const std::string& bytes);
    // Reads one response; `head` means no body follows (answer to HEAD).
    HttpResponse readResponse(bool head = false);
    HttpResponse get(const std::string& path, const std::string& extraHeaders = "",
                     const std::string& method = "GET");
    // What one read gives (a body without end: a stream); 0 at the end or on a timeout.
    long readSome(std::string& out);

protected:
    // The byte stream (TLS in tls_client.h): like recv()/send().
    virtual long receive(char* buffer, size_t size);
    virtual long transmit(const char* data, size_t size);
    int fd_ = -1;

private:
    bool fill();
    std::string buffer_;
    bool eof_ = false;
};

// The value of an HTTP Basic Authorization header: "Basic " + base64("user:password").
std::string basicCredentials(const std::string& user, const std::string& password);

// One request on a fresh connection.
HttpResponse httpGet(int port, const std::string& path, const std::string& extraHeaders = "",
                     const std::string& method = "GET", const std::string& host = "127.0.0.1");

}  // namespace hlsd::test
