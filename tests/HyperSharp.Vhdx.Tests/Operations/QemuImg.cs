using System.Diagnostics;

namespace HyperSharp.Vhdx.Tests.Operations;

/// <summary>Runs qemu-img, the independent peer, when it is installed (tests skip that part otherwise).</summary>
internal static class QemuImg
{
    public const string Path = "/usr/bin/qemu-img";

    public static bool Available => File.Exists(Path);

    public static (int Exit, string Output) Run(params string[] args)
    {
        var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }

    public static string FormatName(DiskFormat format) => format switch
    {
        DiskFormat.Vhdx => "vhdx",
        DiskFormat.Vhd => "vpc",
        _ => "raw",
    };

    /// <summary>
    /// Asserts the image passes `qemu-img check` (raw has nothing to check) and compares equal to a
    /// raw file. Skipped for 4096-byte logical sectors: QEMU's VHDX driver refuses them (ENOTSUP).
    /// </summary>
    public static void AssertCleanAndEqual(string image, DiskFormat format, string rawReference, int logicalSector = 512)
    {
        if (!Available || (format == DiskFormat.Vhdx && logicalSector != 512)) return;
        if (format != DiskFormat.Raw)
        {
            var check = Run("check", "-f", FormatName(format), image);
            Assert.True(check.Exit == 0, $"qemu-img check {image}: {check.Output}");
        }
        var compare = Run("compare", "-f", FormatName(format), "-F", "raw", image, rawReference);
        Assert.True(compare.Exit == 0, $"qemu-img compare {image}: {compare.Output}");
    }
}
