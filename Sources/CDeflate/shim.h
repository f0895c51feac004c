#pragma once
#include <libdeflate.h> /* Debian: libdeflate-dev (whole-buffer DEFLATE, zlib and gzip decompression) */
