using System.Diagnostics;
using System.Text.Json;

namespace HyperSharp.Cli.Tests;

public class VhdCommandTests
{
    private static byte[] Random(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static void Ok(HyperResult r) => Assert.True(r.Exit == 0, $"exit {r.Exit}: {r.Error}");

    [Fact]
    public void NewThenInfoJsonRoundTrips()
    {
        using var dir = new TempDir();
        string path = dir.File("a.vhdx");
        Ok(Hyper.Run("vhd", "new", path, "64MB", "--block-size", "1MB", "--logical-sector", "4096", "--physical-sector", "512"));
        var r = Hyper.Run("vhd", "info", path, "--json");
        Ok(r);
        using var json = JsonDocument.Parse(r.Out);
        var root = json.RootElement;
        Assert.Equal(path, root.GetProperty("Path").GetString());
        Assert.Equal("Vhdx", root.GetProperty("Format").GetString());
        Assert.Equal("Dynamic", root.GetProperty("Type").GetString());
        Assert.Equal(64L << 20, root.GetProperty("Capacity").GetInt64());
        Assert.Equal(1 << 20, root.GetProperty("BlockSize").GetInt32());
        Assert.Equal(4096, root.GetProperty("LogicalSectorSize").GetInt32());
        Assert.Equal(512, root.GetProperty("PhysicalSectorSize").GetInt32());
        Assert.Equal(0, root.GetProperty("AllocatedBytes").GetInt64());
        Assert.True(Guid.TryParse(root.GetProperty("DiskIdentifier").GetString(), out _));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("ParentPath").ValueKind);

        var text = Hyper.Run("vhd", "info", path);
        Ok(text);
        Assert.Contains("Capacity:            64 MiB", text.Out);
        Assert.Empty(text.Error);
    }

    [Fact]
    public void WriteFromStdinAndReadToStdoutAndFiles()
    {
        using var dir = new TempDir();
        string path = dir.File("a.vhdx"), input = dir.File("in.bin"), output = dir.File("out.bin");
        Ok(Hyper.Run("vhd", "new", path, "16M"));
        var data = Random(300_000, 1);
        Ok(Hyper.RunWithInput(data, "vhd", "write", path, "1000"));
        var r = Hyper.Run("vhd", "read", path, "1000", "300000");
        Ok(r);
        Assert.Equal(data, r.Binary);
        File.WriteAllBytes(input, data[..4096]);
        Ok(Hyper.Run("vhd", "write", path, "8M", "--in", input));
        Ok(Hyper.Run("vhd", "read", path, "8M", "4K", "--out", output));
        Assert.Equal(data[..4096], File.ReadAllBytes(output));
    }

    [Fact]
    public void DifferencingConvertMergeAndResize()
    {
        using var dir = new TempDir();
        string parent = dir.File("p.vhdx"), child = dir.File("c.avhdx"), flat = dir.File("flat.raw");
        Ok(Hyper.Run("vhd", "new", parent, "8MB", "--block-size", "1MB"));
        var baseData = Random(1 << 20, 2);
        Ok(Hyper.RunWithInput(baseData, "vhd", "write", parent, "0"));
        Ok(Hyper.Run("vhd", "new", child, "--parent", parent));
        using (var info = JsonDocument.Parse(Hyper.Run("vhd", "info", child, "--json").Out))
        {
            Assert.Equal("Differencing", info.RootElement.GetProperty("Type").GetString());
            Assert.Equal(parent, info.RootElement.GetProperty("ParentPath").GetString());
        }
        var patch = Random(5000, 3);
        Ok(Hyper.RunWithInput(patch, "vhd", "write", child, "100"));
        var expected = (byte[])baseData.Clone();
        patch.CopyTo(expected, 100);

        Ok(Hyper.Run("vhd", "convert", child, flat));
        Assert.Equal(expected, File.ReadAllBytes(flat)[..expected.Length]);
        Assert.Equal(8L << 20, new FileInfo(flat).Length);

        var merge = Hyper.Run("vhd", "merge", child);
        Ok(merge);
        Assert.False(File.Exists(child));
        Assert.Equal(expected, Hyper.Run("vhd", "read", parent, "0", "1M").Binary);

        Ok(Hyper.Run("vhd", "resize", parent, "16MB"));
        using var resized = JsonDocument.Parse(Hyper.Run("vhd", "info", parent, "--json").Out);
        Assert.Equal(16L << 20, resized.RootElement.GetProperty("Capacity").GetInt64());
    }

    [Fact]
    public void MergeToANewImageAndCompact()
    {
        using var dir = new TempDir();
        string parent = dir.File("p.vhdx"), child = dir.File("c.avhdx"), merged = dir.File("m.vhdx");
        Ok(Hyper.Run("vhd", "new", parent, "8MB", "--block-size", "1MB"));
        Ok(Hyper.RunWithInput(new byte[6 << 20], "vhd", "write", parent, "0")); // allocated zeros
        var data = Random(4096, 4);
        Ok(Hyper.RunWithInput(data, "vhd", "write", parent, "7M"));
        Ok(Hyper.Run("vhd", "new", child, "--type", "differencing", "--parent", parent));
        Ok(Hyper.Run("vhd", "merge", child, "--destination", merged));
        Assert.True(File.Exists(child));
        Assert.Equal(data, Hyper.Run("vhd", "read", merged, "7M", "4K").Binary);

        long before = new FileInfo(parent).Length;
        var compact = Hyper.Run("vhd", "compact", parent);
        Ok(compact);
        Assert.True(new FileInfo(parent).Length < before);
        Assert.Equal(data, Hyper.Run("vhd", "read", parent, "7M", "4K").Binary);
    }

    [Fact]
    public void CheckPassesACleanImageAndReportsACorruptOne()
    {
        using var dir = new TempDir();
        string path = dir.File("a.vhdx");
        Ok(Hyper.Run("vhd", "new", path, "8MB"));
        var clean = Hyper.Run("vhd", "check", path, "--json");
        Ok(clean);
        using (var report = JsonDocument.Parse(clean.Out))
        {
            Assert.True(report.RootElement.GetProperty("Ok").GetBoolean());
            Assert.Equal(0, report.RootElement.GetProperty("Problems").GetArrayLength());
        }
        // Break both headers' checksums: the image cannot be trusted any more.
        using (var f = File.OpenWrite(path))
        {
            f.Position = 64 * 1024 + 100; f.WriteByte(0x5A);
            f.Position = 128 * 1024 + 100; f.WriteByte(0x5A);
        }
        var bad = Hyper.Run("vhd", "check", path, "--json");
        Assert.Equal(1, bad.Exit);
        using var badReport = JsonDocument.Parse(bad.Out);
        Assert.False(badReport.RootElement.GetProperty("Ok").GetBoolean());
        var problem = badReport.RootElement.GetProperty("Problems")[0];
        Assert.Contains("header", problem.GetProperty("Structure").GetString());

        var info = Hyper.Run("vhd", "info", path);
        Assert.Equal(1, info.Exit);
        Assert.StartsWith("hyper: ", info.Error);
        Assert.Contains("header", info.Error);
        Assert.Single(info.Error.Trim().Split('\n')); // one line, no stack trace
    }

    [Theory]
    [InlineData(1, "vhd", "info", "{dir}/missing.vhdx")]
    [InlineData(1, "vhd", "read", "{dir}/missing.vhdx", "0", "1")]
    [InlineData(2, "vhd", "new", "{dir}/x.vhdx", "10XB")]
    [InlineData(2, "vhd", "new", "{dir}/x.vhdx", "0")]
    [InlineData(2, "vhd", "new", "{dir}/x.vhdx")]
    [InlineData(2, "vhd", "new", "{dir}/x.vhdx", "1G", "--type", "sparse")]
    [InlineData(2, "vhd", "new", "{dir}/x.avhdx", "--type", "differencing")]
    [InlineData(1, "vhd", "new", "{dir}/x.vhdx", "1G", "--block-size", "3MB")]
    [InlineData(2, "vhd", "read", "{dir}/disk.vhdx", "1M", "8M")]
    [InlineData(2, "vhd", "new", "{dir}/x.img", "--parent", "{dir}/disk.vhdx")]
    [InlineData(2, "vhd", "nonsense")]
    [InlineData(2)]
    [InlineData(1, "vhd", "merge", "{dir}/disk.vhdx")]
    [InlineData(1, "vhd", "resize", "{dir}/disk.vhdx", "1G", "--allow-data-loss", "--nope")]
    public void BadInputFailsWithOneClearLine(int exit, params string[] args)
    {
        using var dir = new TempDir();
        Ok(Hyper.Run("vhd", "new", dir.File("disk.vhdx"), "8MB"));
        var r = Hyper.Run(args.Select(a => a.Replace("{dir}", dir.Path)).ToArray());
        if (exit == 1 && args.Contains("--nope")) exit = 2; // an unknown option is a parse error
        Assert.Equal(exit, r.Exit);
        Assert.StartsWith("hyper: ", r.Error);
        Assert.DoesNotContain("   at ", r.Error);
        Assert.False(File.Exists(dir.File("x.vhdx")));
    }

    [Fact]
    public void ProgressIsDrawnOnATerminalAndQuietOtherwise()
    {
        using var dir = new TempDir();
        string source = dir.File("s.vhdx");
        Ok(Hyper.Run("vhd", "new", source, "64MB"));
        Ok(Hyper.RunWithInput(Random(1 << 20, 6), "vhd", "write", source, "10M"));
        var quiet = Hyper.Run("vhd", "convert", source, dir.File("quiet.raw"));
        Ok(quiet);
        Assert.Empty(quiet.Error);
        var shown = Hyper.RunOnTerminal("vhd", "convert", source, dir.File("shown.raw"));
        Ok(shown);
        Assert.Contains("convert [", shown.Error);
        Assert.Contains("100%", shown.Error);
        Assert.Contains("64 MiB of 64 MiB", shown.Error);
    }

    [Fact]
    public void ConvertedImagesPassQemuImgCheck()
    {
        if (!File.Exists("/usr/bin/qemu-img")) return;
        using var dir = new TempDir();
        string raw = dir.File("src.raw"), vhdx = dir.File("out.vhdx"), fixedVhdx = dir.File("fixed.vhdx");
        var data = new byte[16 << 20];
        new Random(5).NextBytes(data.AsSpan(3 << 20, 2 << 20));
        File.WriteAllBytes(raw, data);
        Ok(Hyper.Run("vhd", "convert", raw, vhdx));
        Ok(Hyper.Run("vhd", "convert", vhdx, fixedVhdx, "--type", "fixed", "--block-size", "1MB"));
        foreach (var image in new[] { vhdx, fixedVhdx })
        {
            Assert.Equal(0, Qemu("check", "-f", "vhdx", image));
            Assert.Equal(0, Qemu("compare", "-f", "vhdx", "-F", "raw", image, raw));
        }
    }

    private static int Qemu(params string[] args)
    {
        var info = new ProcessStartInfo("/usr/bin/qemu-img") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }
}
