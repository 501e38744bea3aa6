using System.Diagnostics;

namespace HyperSharp.Cli.Tests;

/// <summary>
/// `hyper vhd info|check|convert` refuse what is not an image of the format its name says — random bytes, an empty
/// file, a FIFO, /dev/zero — with exit code 1 and one line naming the file, at once (a FIFO never blocks them).
/// </summary>
public class VhdRefusalTests
{
    private static HyperResult RunWithin(params string[] args)
    {
        var task = Task.Run(() => Hyper.Run(args));
        Assert.True(task.Wait(TimeSpan.FromSeconds(30)), $"hyper {string.Join(' ', args)} hangs");
        return task.Result;
    }

    private static void Refused(string path, string expected, params string[] extra)
    {
        foreach (var verb in new[] { "info", "check", "convert" })
        {
            // convert's --format is the target's; the source's is --source-format.
            string[] args = verb == "convert"
                ? ["vhd", verb, path, path + "." + Guid.NewGuid().ToString("N") + ".raw", .. extra.Select(a => a == "--format" ? "--source-format" : a)]
                : ["vhd", verb, path, .. extra];
            var r = RunWithin(args);
            Assert.True(r.Exit == 1, $"vhd {verb} {path}: exit {r.Exit}, out '{r.Out}', error '{r.Error}'");
            Assert.Contains(path, r.Error);
            Assert.Contains(expected, r.Error);
            Assert.DoesNotContain(": ok", r.Out);
        }
    }

    [Fact]
    public void RandomBytesAndEmptyFilesNamedAsImages_AreRefused()
    {
        using var dir = new TempDir();
        var random = new byte[2 << 20];
        new Random(7).NextBytes(random);
        foreach (var name in new[] { "r.vhdx", "r.avhdx", "r.vhd" })
        {
            File.WriteAllBytes(dir.File(name), random);
            Refused(dir.File(name), name.EndsWith(".vhd") ? "'conectix'" : "'vhdxfile'");
        }
        File.WriteAllBytes(dir.File("e.vhdx"), []);
        Refused(dir.File("e.vhdx"), "the file is empty");

        // Raw by an explicit format: the same bytes are a raw disk.
        var info = Hyper.Run("vhd", "info", dir.File("r.vhdx"), "--format", "raw");
        Assert.True(info.Exit == 0, info.Error);
        Assert.Contains("Format:              Raw", info.Out);
        var convert = Hyper.Run("vhd", "convert", dir.File("r.vhdx"), dir.File("copy.raw"), "--source-format", "raw");
        Assert.True(convert.Exit == 0, convert.Error);
        Assert.Equal(random, File.ReadAllBytes(dir.File("copy.raw")));
    }

    [Fact]
    public void AVhdxWithAnOverwrittenSignature_IsNotOk()
    {
        using var dir = new TempDir();
        string path = dir.File("d.vhdx");
        Assert.Equal(0, Hyper.Run("vhd", "new", path, "8MB").Exit);
        using (var f = File.OpenWrite(path)) f.Write("XXXXXXXX"u8);
        Refused(path, "'vhdxfile'");
    }

    [Fact]
    public void FifosAndDevZero_AreRefusedWithoutBlocking()
    {
        using var dir = new TempDir();
        foreach (var name in new[] { "p.vhdx", "p.raw" })
        {
            var mkfifo = Process.Start("/usr/bin/mkfifo", dir.File(name));
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
            Refused(dir.File(name), "FIFO");
            Refused(dir.File(name), "FIFO", "--format", "raw");
        }
        Refused("/dev/zero", "character device");
    }
}
