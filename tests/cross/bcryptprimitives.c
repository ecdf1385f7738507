/* Wine 8 has no ProcessPrng (bcryptprimitives.dll), which Rust's standard library calls
 * at start. This DLL, placed beside the .exe, provides it on top of advapi32's
 * SystemFunction036 (RtlGenRandom), which Wine implements. Used only by tests/cross.sh. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
