using System.Diagnostics;
using System.Security.Cryptography;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>
/// Runs the peer tools (qemu-img, qemu-io from Debian's qemu-utils) and other child processes.
/// Every process started here is waited for with a timeout and, if it overruns, killed by its own PID.
/// </summary>
internal static class PeerTools
{
    public const string QemuImg = "/usr/bin/qemu-img";
    public const string QemuIoPath = "/usr/bin/qemu-io";

    /// <summary>True when qemu-img and qemu-io are installed; otherwise prints why the test returns early.</summary>
    public static bool Available(ITestOutputHelper output)
    {
        if (File.Exists(QemuImg) && File.Exists(QemuIoPath)) return true;
        output.WriteLine($"SKIPPED: {QemuImg} or {QemuIoPath} is missing (install Debian's qemu-utils); this peer-interop test did not run");
        return false;
    }

    /// <summary>
    /// qemu 7.2's VHDX driver refuses images with 4096-byte logical sectors ("Operation not
    /// supported"), a gap of the peer: such images are checked against the test's raw reference
    /// only, and this prints why (and asserts qemu still refuses, so the day it learns them the test says so).
    /// </summary>
    public static bool CanCheck(ITestOutputHelper output, string image, int logicalSector)
    {
        if (!Available(output)) return false;
        if (logicalSector == 512) return true;
        var r = Run(QemuImg, ["info", "-f", "vhdx", image]);
        output.WriteLine($"qemu-img cannot open VHDX with {logicalSector}-byte logical sectors (peer gap): exit {r.ExitCode} {r.Stderr.Trim()}");
        Assert.Contains("not supported", r.Stderr);
        return false;
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
    }

    public static Result Run(string exe, IEnumerable<string> args, int timeoutMs = 120_000)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            try { p.Kill(); } catch (InvalidOperationException) { } // by this process's own PID
            p.WaitForExit();
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish in {timeoutMs} ms (killed pid {p.Id})");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    public static Result QemuImgRun(params string[] args) => Run(QemuImg, args);

    /// <summary>Runs qemu-img and fails the test (with its output) unless it exits 0.</summary>
    public static string QemuImgOk(params string[] args)
    {
        var r = Run(QemuImg, args);
        Assert.True(r.ExitCode == 0, $"qemu-img {string.Join(' ', args)} failed: {r}");
        return r.Stdout;
    }

    /// <summary>`qemu-img check` must report no errors, no leaks and no corruption.</summary>
    public static void AssertCheckClean(string image)
    {
        var r = Run(QemuImg, ["check", "-f", "vhdx", image]);
        Assert.True(r.ExitCode == 0, $"qemu-img check {image} is not clean: {r}");
        Assert.DoesNotContain("corrupt", r.Stdout + r.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("leak", r.Stdout + r.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>`qemu-img compare` of a VHDX against a raw reference must say "Images are identical.".</summary>
    public static void AssertCompareIdentical(string vhdx, string raw)
    {
        var r = Run(QemuImg, ["compare", "-f", "vhdx", "-F", "raw", vhdx, raw]);
        Assert.True(r.ExitCode == 0 && r.Stdout.Contains("Images are identical"), $"qemu-img compare {vhdx} {raw}: {r}");
    }

    public static void QemuIo(string image, params string[] commands)
    {
        var args = new List<string> { "-f", "vhdx" };
        foreach (var c in commands) { args.Add("-c"); args.Add(c); }
        args.Add(image);
        var r = Run(QemuIoPath, args);
        Assert.True(r.ExitCode == 0 && !r.Stdout.Contains("error", StringComparison.OrdinalIgnoreCase)
            && !r.Stderr.Contains("error", StringComparison.OrdinalIgnoreCase), $"qemu-io {string.Join(' ', args)}: {r}");
    }

    public static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(s));
    }

    /// <summary>Reads a whole disk in 1 MiB pieces.</summary>
    public static byte[] ReadAll(IVirtualDisk disk)
    {
        var all = new byte[disk.Capacity];
        for (long at = 0; at < all.Length; at += 1 << 20)
            disk.Read(at, all.AsSpan((int)at, (int)Math.Min(1 << 20, all.Length - at)));
        return all;
    }

    /// <summary>Index of the first differing byte, or -1.</summary>
    public static long FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) return Math.Min(a.Length, b.Length);
        int i = a.CommonPrefixLength(b);
        return i == a.Length ? -1 : i;
    }

    public static void AssertSameBytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        long d = FirstDifference(expected, actual);
        Assert.True(d < 0, d < 0 ? "" : $"{what}: first difference at byte {d} (0x{d:X}): expected " +
            $"{(d < expected.Length ? expected[(int)d].ToString("X2") : "end")}, got {(d < actual.Length ? actual[(int)d].ToString("X2") : "end")} " +
            $"(lengths {expected.Length} and {actual.Length})");
    }
}
