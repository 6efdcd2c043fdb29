/*
 * Internal to nft/: names of the objects in mosh-helper's table and the
 * byte layout of a pinhole set key, shared by the batch builders (build.c)
 * and the dump decoder (nl.c) so both sides agree on one encoding.
 */
#ifndef MH_NFT_INT_H
#define MH_NFT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "nft.h"

#define MH_SET_PORTS      "ports"
#define MH_SET_SESSIONS   "sessions"
#define MH_SET_PINHOLES4  "pinholes4"
#define MH_SET_PINHOLES6  "pinholes6"
#define MH_PROBE_TABLE    "mosh_helper_probe"

/* Concatenated key: address, then client port and server port, each field
 * padded to a multiple of 4 bytes (nft register granularity). */
#define MH_PH_KEY4_LEN    12
#define MH_PH_KEY6_LEN    24
#define MH_PH_KEY_MAX     MH_PH_KEY6_LEN

/* Set name for a pinhole family, or NULL if the family is not inet. */
const char *mh_nft_pinhole_set(int family);
/* Encode ph into key (MH_PH_KEY_MAX bytes); returns the key length or 0. */
size_t mh_nft_pinhole_key(const struct mh_pinhole *ph, uint8_t *key);
/* Decode a key of len bytes; 0 or -EINVAL if len fits neither family. */
int mh_nft_pinhole_from_key(const uint8_t *key, size_t len,
			    struct mh_pinhole *ph);

#endif
