/* For the tests under Wine only, never shipped: Wine 8 lacks bcryptprimitives.dll, whose
   ProcessPrng Rust's standard library imports on Windows (Windows 10 and 11 have it). This stand-in
   answers from RtlGenRandom, the system generator Wine does have. tests/windows.rs builds it. */
#include <windows.h>
#include <ntsecapi.h>
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk)) return FALSE;
        data += chunk; len -= chunk;
    }
    return TRUE;
}
