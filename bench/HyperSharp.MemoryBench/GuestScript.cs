/// <summary>
/// What the guest runs under both VMMs: it says its MemTotal, then waits for each change the host makes by watching
/// MemTotal (every 50 ms) and says when it saw it. The host times from its request to the guest's line.
/// </summary>
internal static class GuestScript
{
    public const string Text = """
        mt() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
        waitfor() { while ! [ "$(mt)" "$1" "$2" ]; do sleep 0.05; done; }
        t0=$(mt); echo "BENCH-READY total=$t0"
        waitfor -lt $((t0 - 1000000)); echo "BENCH-INFLATED total=$(mt)"
        waitfor -ge $t0; echo "BENCH-DEFLATED total=$(mt)"
        waitfor -gt $((t0 + 1000000)); echo "BENCH-GREW total=$(mt)"
        """;

    /// <summary>The kit's initramfs with the script appended as /init.d/50-bench.sh (the kernel unpacks both archives).</summary>
    public static string Initrd(string kit, string dir)
    {
        string root = Path.Combine(dir, "overlay");
        Directory.CreateDirectory(Path.Combine(root, "init.d"));
        File.WriteAllText(Path.Combine(root, "init.d", "50-bench.sh"), Text);
        string archive = Path.Combine(dir, "overlay.cpio.gz");
        using (var p = System.Diagnostics.Process.Start("sh", ["-c", $"cd '{root}' && find . | cpio -o -H newc --quiet -R 0:0 | gzip > '{archive}'"]))
            p.WaitForExit();
        string initrd = Path.Combine(dir, "initrd.img");
        using var output = File.Create(initrd);
        using (var k = File.OpenRead(Path.Combine(kit, "initrd.img"))) k.CopyTo(output);
        using (var a = File.OpenRead(archive)) a.CopyTo(output);
        return initrd;
    }
}
