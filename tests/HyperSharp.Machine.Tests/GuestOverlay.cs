using System.Diagnostics;

namespace HyperSharp.Machine.Tests;

/// <summary>
/// Extends the guest kit's initramfs for one test: scripts placed in /init.d/ of a second cpio
/// archive appended to the kit's (the kernel unpacks concatenated archives), run by the kit's /init.
/// </summary>
public static class GuestOverlay
{
    public static string Build(string kitDirectory, string workDirectory, IReadOnlyDictionary<string, string> initScripts)
    {
        string root = Path.Combine(workDirectory, "overlay");
        Directory.CreateDirectory(Path.Combine(root, "init.d"));
        foreach (var (name, body) in initScripts) File.WriteAllText(Path.Combine(root, "init.d", name), body);
        string archive = Path.Combine(workDirectory, "overlay.cpio.gz");
        Run("sh", "-c", $"cd '{root}' && find . | cpio -o -H newc --quiet -R 0:0 | gzip > '{archive}'");
        string initrd = Path.Combine(workDirectory, "initrd-test.img");
        using (var output = File.Create(initrd))
        {
            using (var kit = File.OpenRead(Path.Combine(kitDirectory, "initrd.img"))) kit.CopyTo(output);
            using (var extra = File.OpenRead(archive)) extra.CopyTo(output);
        }
        return initrd;
    }

    /// <summary>Runs a host tool, waits, and throws with its output when it fails.</summary>
    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"{file} did not finish"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }
}
