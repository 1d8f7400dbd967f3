/* wkp_dependency_info: the libraries this build runs with and their versions. */
#include <openssl/crypto.h>
#include <pcap/pcap.h>
#include <yaml.h>

#include "capture/decomp.h"
#include "signatures/db.h"
#include "wa1kpcap/wa1kpcap.h"

#ifndef WKP_URCU_VERSION
#define WKP_URCU_VERSION "unknown"
#endif

static const char *openssl_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

static const char *urcu_version(void)
{
    return WKP_URCU_VERSION " (built with)"; /* liburcu has no version call */
}

static const char *yaml_version(void)
{
    return yaml_get_version_string();
}

static const char *zlib_version(void)
{
    return wkp__z_library_version(WKP_Z_GZIP);
}

static const char *zstd_version(void)
{
    return wkp__z_library_version(WKP_Z_ZSTD);
}

static const char *lzma_version(void)
{
    return wkp__z_library_version(WKP_Z_XZ);
}

static const char *lz4_version(void)
{
    return wkp__z_library_version(WKP_Z_LZ4);
}

/* Each library's version call; NULL: not in this build. */
static const struct {
    const char *name;
    const char *(*version)(void);
} deps[] = {
    {"libpcap", pcap_lib_version},
    {"OpenSSL", openssl_version},
    {"liburcu", urcu_version},
    {"libyaml", yaml_version},
    {"Hyperscan", wkp_sigdb_library_version},
    {"zlib", zlib_version},
    {"zstd", zstd_version},
    {"liblzma", lzma_version},
    {"lz4", lz4_version},
};

bool wkp_dependency_info(size_t i, const char **name, const char **version)
{
    for (size_t k = 0; k < sizeof deps / sizeof deps[0]; k++) {
        const char *v = deps[k].version();
        if (!v)
            continue;
        if (i-- == 0) {
            if (name)
                *name = deps[k].name;
            if (version)
                *version = v;
            return true;
        }
    }
    return false;
}
