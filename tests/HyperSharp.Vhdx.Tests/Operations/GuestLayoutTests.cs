using System.Diagnostics;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Vhdx.Tests.Operations;

/// <summary>
/// GuestLayout reads where the guest's use of a disk ends from layouts the peer tools wrote: sfdisk's MBR and GPT tables
/// (the last partition's end, not the table's order), mkfs.ext4 on the whole disk, and nothing on an empty disk.
/// </summary>
public class GuestLayoutTests
{
    private static void Run(string tool, string? stdin, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        string error = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} failed: {error}");
    }

    private static long? EndOf(string raw)
    {
        using var disk = VirtualDisk.Open(raw, DiskOpenOptions.ReadOnlyDefault, DiskFormat.Raw);
        return GuestLayout.End(disk);
    }

    [Theory]
    [InlineData("label: dos\nstart=2048, size=40960\nstart=43008, size=4096\n", 47104L * 512)]
    [InlineData("label: gpt\nstart=30720, size=8192\nstart=2048, size=20480\n", 38912L * 512)]
    public void The_last_partitions_end_bounds_the_disk(string table, long end)
    {
        if (!File.Exists("/usr/sbin/sfdisk")) return; // util-linux is installed by eng/install-test-deps.sh
        using var dir = new TempDir();
        string raw = dir.File("disk.raw");
        using (var f = File.Create(raw)) f.SetLength(64 << 20);
        Run("/usr/sbin/sfdisk", table, "--quiet", raw);
        Assert.Equal(end, EndOf(raw));
    }

    [Fact]
    public void An_ext4_file_system_on_the_whole_disk_bounds_it_and_an_empty_disk_has_no_layout()
    {
        if (!File.Exists("/usr/sbin/mkfs.ext4")) return;
        using var dir = new TempDir();
        string raw = dir.File("disk.raw");
        using (var f = File.Create(raw)) f.SetLength(64 << 20);
        Assert.Null(EndOf(raw));
        Run("/usr/sbin/mkfs.ext4", null, "-q", "-F", raw, "48M");
        Assert.Equal(48L << 20, EndOf(raw));
    }
}
