// <immintrin.h> for the AVX-512 and AMX kernels. GCC 12's AVX-512 headers warn that their
// own _mm512_undefined_* values are used uninitialized once inlined at -O3 (GCC bug 105593,
// fixed in 13); the warnings point into the header, so silencing them around its first
// inclusion silences them everywhere. Every cpu kernel includes immintrin through here.
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
