// GoogleTest main for tests that need an EAL (rte_hash, rte_malloc): no hugepages, no PCI, no
// shared files, so it runs anywhere and leaves nothing behind.
#include <gtest/gtest.h>
#include <rte_eal.h>

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    const char* eal[] = {"dataplane_tests", "--no-huge", "--no-pci", "--no-shconf", "-m", "512",
                         "-l", "0", "--log-level", "lib.eal:error", "--no-telemetry"};
    int n = static_cast<int>(sizeof eal / sizeof eal[0]);
    if (rte_eal_init(n, const_cast<char**>(eal)) < 0) {
        std::fprintf(stderr, "EAL initialisation failed\n");
        return 1;
    }
    int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    return rc;
}
