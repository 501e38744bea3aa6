using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperSharp.Host.Platform;

/// <summary>
/// Asks the kernel whether another user may use some paths: on a thread of its own whose file-system identity (fsuid,
/// fsgid, supplementary groups) is that user's, faccessat2(AT_EACCESS) applies exactly that user's rights — modes,
/// ACLs, read-only mounts — and the host's capabilities do not count (Linux drops them from a thread whose fsuid
/// leaves 0). The identity is per thread (setfsuid, setfsgid, and the raw setgroups system call, which glibc would
/// apply to every thread). The thread exists for one batch of checks: it takes the identity, makes only the access
/// calls (no allocation, nothing queued, so the runtime starts no thread from it that would inherit the identity),
/// takes the host's identity back and ends.
/// </summary>
internal static partial class ThreadCredentials
{
    public const int Read = 4, Write = 2, Search = 1;
    private const long FaccessAt2 = 439; // the same number on every architecture (added in Linux 5.8)
    private const int AtFdCwd = -100, AtEAccess = 0x200;

    [LibraryImport("libc", SetLastError = true)]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static partial int setfsuid(uint uid);

    [LibraryImport("libc", SetLastError = true)]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static partial int setfsgid(uint gid);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe partial long Syscall(long number, long a, void* b, long c, long d);

    /// <summary>Whether this process may take another user's file-system identity (CAP_SETUID and CAP_SETGID: root).</summary>
    public static bool CanSwitch => Environment.IsPrivilegedProcess;

    /// <summary>
    /// For each (path, mode) — mode a sum of <see cref="Read"/>, <see cref="Write"/>, <see cref="Search"/> — 0 when the
    /// user may, else the errno (EACCES, ENOENT, EROFS...). Throws when the identity cannot be taken.
    /// </summary>
    public static int[] Access(uint uid, uint gid, uint[] groups, IReadOnlyList<(string Path, int Mode)> checks)
    {
        // Everything the thread needs is made here, before it starts: it allocates nothing itself.
        var paths = checks.Select(c => System.Text.Encoding.UTF8.GetBytes(c.Path + "\0")).ToArray();
        var modes = checks.Select(c => c.Mode).ToArray();
        var results = new int[checks.Count];
        long setGroups = SetGroupsNumber();
        int failure = 0;
        var thread = new Thread(() => failure = CheckAs(uid, gid, groups, setGroups, paths, modes, results), 256 * 1024)
        {
            IsBackground = true, Name = "access checks as a client",
        };
        thread.Start();
        thread.Join();
        if (failure != 0)
            throw new UnauthorizedAccessException($"this host cannot check files with the rights of uid {uid}: it cannot take that identity ({Marshal.GetPInvokeErrorMessage(failure)}); run the host as root");
        return results;
    }

    /// <summary>The thread's whole life: become the user, ask, become the host again. Returns an errno if it could not become the user.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int CheckAs(uint uid, uint gid, uint[] groups, long setGroups, byte[][] paths, int[] modes, int[] results)
    {
        uint hostUid = (uint)setfsuid(uint.MaxValue), hostGid = (uint)setfsgid(uint.MaxValue);
        fixed (uint* list = groups)
        {
            if (Syscall(setGroups, groups.Length, list, 0, 0) != 0) return Marshal.GetLastPInvokeError();
        }
        // Both calls return the previous value whatever happens: asking with an invalid id (-1) reads the current one back.
        setfsgid(gid);
        setfsuid(uid);
        int error = 0;
        if ((uint)setfsgid(uint.MaxValue) != gid || (uint)setfsuid(uint.MaxValue) != uid) error = 1; // EPERM
        else
            for (int i = 0; i < paths.Length; i++)
                fixed (byte* path = paths[i])
                    results[i] = Syscall(FaccessAt2, AtFdCwd, path, modes[i], AtEAccess) == 0 ? 0 : Marshal.GetLastPInvokeError();
        setfsuid(hostUid); // the capabilities come back with fsuid 0; the thread ends next
        setfsgid(hostGid);
        return error;
    }

    private static long SetGroupsNumber() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 116,
        Architecture.Arm64 => 159,
        var other => throw new PlatformNotSupportedException($"per-thread setgroups is not wired for {other}"),
    };
}
