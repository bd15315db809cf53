#include "http/client_address.h"

#include <gtest/gtest.h>

namespace hlsd {
namespace {

TEST(TrustedProxies, ParsesAddressesAndNetworksAndNamesABadEntry) {
    const auto p = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8  ::1 fd00::/8");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->contains("127.0.0.1"));
    EXPECT_FALSE(p->contains("127.0.0.2"));
    EXPECT_TRUE(p->contains("10.200.3.4"));
    EXPECT_FALSE(p->contains("11.0.0.1"));
    EXPECT_TRUE(p->contains("::1"));
    EXPECT_TRUE(p->contains("fd12:3456::1"));
    EXPECT_FALSE(p->contains("fe80::1"));
    EXPECT_TRUE(p->contains("::ffff:10.1.2.3")) << "an IPv4-mapped peer of a dual-stack socket";
    EXPECT_FALSE(p->contains("not an address"));
    const auto odd = TrustedProxies::parse("192.168.1.128/25");
    ASSERT_TRUE(odd);
    EXPECT_TRUE(odd->contains("192.168.1.200"));
    EXPECT_FALSE(odd->contains("192.168.1.100"));
    EXPECT_TRUE(TrustedProxies::parse("")->empty());
    for (const char* bad :
         {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "pi.local", "10.0.0.0/8/1"}) {
        std::string why;
        EXPECT_FALSE(TrustedProxies::parse(std::string("127.0.0.1 ") + bad, &why)) << bad;
        EXPECT_NE(why.find(bad), std::string::npos) << why;
    }
}

TEST(TrustedProxies, TheClientIsTheRightmostAddressNotATrustedProxy) {
    const auto p = TrustedProxies::parse("127.0.0.1 10.0.0.0/8");
    ASSERT_TRUE(p);
    // An untrusted peer: its header is not believed, whatever it says.
    EXPECT_EQ(p->clientOf("198.51.100.9", "203.0.113.7"), "198.51.100.9");
    // One edge.
    EXPECT_EQ(p->clientOf("127.0.0.1", "203.0.113.7"), "203.0.113.7");
    // Two tiers of edges: a viewer, an outer edge (10.1.1.1), the inner edge (the peer).
    EXPECT_EQ(p->clientOf("127.0.0.1", "203.0.113.7, 10.1.1.1"), "203.0.113.7");
    // A viewer forging the header: the edge appends the address it saw, which wins.
    EXPECT_EQ(p->clientOf("127.0.0.1", "1.2.3.4, 203.0.113.7"), "203.0.113.7");
    // No header, or one that is not a list of addresses: the peer.
    EXPECT_EQ(p->clientOf("127.0.0.1", ""), "127.0.0.1");
    EXPECT_EQ(p->clientOf("127.0.0.1", "unknown"), "127.0.0.1");
    EXPECT_EQ(p->clientOf("127.0.0.1", "203.0.113.7:5555"), "127.0.0.1");
    // Only trusted proxies in it: the leftmost.
    EXPECT_EQ(p->clientOf("127.0.0.1", "10.0.0.5, 10.0.0.6"), "10.0.0.5");
    // Nothing trusted: nothing believed.
    EXPECT_EQ(TrustedProxies().clientOf("127.0.0.1", "203.0.113.7"), "127.0.0.1");
}

}  // namespace
}  // namespace hlsd
