using System.Management.Automation;
using HyperSharp.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.PowerShell.Tests;

/// <summary>The VHD cmdlets against a real host, checked against the files (and qemu-img where installed).</summary>
public sealed class VhdCmdletTests(ITestOutputHelper output) : HostedSession
{
    [Fact]
    public async Task New_VHD_makes_the_disks_Get_VHD_describes_and_Test_VHD_passes()
    {
        var result = (await Ps.RunAsync("""
            $base  = New-VHD -Path base.vhdx -SizeBytes 1GB
            $fixed = New-VHD -Path fixed.vhdx -SizeBytes 64MB -Fixed -BlockSizeBytes 8MB -LogicalSectorSizeBytes 4096
            $legacy = New-VHD legacy.vhd 100MB
            $child = New-VHD -Path child.avhdx -ParentPath base.vhdx -Differencing
            Get-VHD -Path base.vhdx, fixed.vhdx, legacy.vhd, child.avhdx
            Test-VHD -Path base.vhdx, fixed.vhdx, legacy.vhd, child.avhdx
            """)).Ok();
        var disks = result.Take(4).Select(o => (VirtualHardDisk)o.BaseObject).ToList();
        var (dynamic, fixedDisk, legacy, child) = (disks[0], disks[1], disks[2], disks[3]);
        Assert.Equal((VhdFormat.VHDX, VhdType.Dynamic, 1UL << 30, 32u << 20, 512u, 4096u), (dynamic.VhdFormat, dynamic.VhdType, dynamic.Size, dynamic.BlockSize, dynamic.LogicalSectorSize, dynamic.PhysicalSectorSize));
        Assert.Equal(Path.Combine(Host.Disks, "base.vhdx"), dynamic.Path);
        Assert.True(Guid.TryParse(dynamic.DiskIdentifier, out _));
        Assert.True(dynamic.FileSize < 8UL << 20, $"a new dynamic disk is small, not {dynamic.FileSize} bytes");
        Assert.Equal((VhdType.Fixed, 64UL << 20, 8u << 20, 4096u), (fixedDisk.VhdType, fixedDisk.Size, fixedDisk.BlockSize, fixedDisk.LogicalSectorSize));
        Assert.True(fixedDisk.FileSize >= 64UL << 20);
        Assert.Equal((VhdFormat.VHD, VhdType.Dynamic, 100UL << 20), (legacy.VhdFormat, legacy.VhdType, legacy.Size));
        Assert.Equal((VhdType.Differencing, 1UL << 30, dynamic.Path), (child.VhdType, child.Size, child.ParentPath));
        Assert.All(result.Skip(4), o => Assert.True((bool)o.BaseObject));
        Assert.Equal(8, result.Count);

        using (var disk = VirtualDisk.Open(Path.Combine(Host.Disks, "child.avhdx"), DiskOpenOptions.ReadOnlyDefault))
            Assert.Equal(Path.Combine(Host.Disks, "base.vhdx"), disk.Parent!.Path);
        if (!QemuImg.Available) { output.WriteLine(QemuImg.MissingReason); return; }
        // (qemu-img opens neither 4096-byte-sector nor differencing VHDX: those are checked by Test-VHD only.)
        var (code, text) = await QemuImg.CheckAsync(Path.Combine(Host.Disks, "base.vhdx"), "vhdx");
        Assert.True(code == 0, $"qemu-img check base.vhdx: {text}");
        // qemu-img has no check for VHD (and sizes it by CHS geometry): it must at least open it as one.
        (code, text) = await QemuImg.RunAsync("info", "-f", "vpc", Path.Combine(Host.Disks, "legacy.vhd"));
        Assert.True(code == 0 && text.Contains("file format: vpc"), $"qemu-img info legacy.vhd: {text}");
    }

    [Fact]
    public async Task Resize_Convert_Merge_and_Optimize_change_the_files_as_Hyper_V_does()
    {
        string dir = Host.Disks;
        (await Ps.RunAsync("New-VHD base.vhdx 256MB | Out-Null; New-VHD child.avhdx -ParentPath base.vhdx -Differencing | Out-Null")).Ok();
        var pattern = new byte[1 << 20];
        new Random(7).NextBytes(pattern);
        using (var child = VirtualDisk.Open(Path.Combine(dir, "child.avhdx"))) { child.Write(100L << 20, pattern); child.Flush(); }

        // Convert flattens the chain into a fixed disk, with progress shown.
        var convert = await Ps.RunAsync("Convert-VHD -Path child.avhdx -DestinationPath flat.vhdx -VHDType Fixed -Passthru");
        var flat = (VirtualHardDisk)Assert.Single(convert.Ok()).BaseObject;
        Assert.Equal((VhdType.Fixed, 256UL << 20), (flat.VhdType, flat.Size));
        Assert.NotEmpty(convert.Progress);
        Assert.Equal(ProgressRecordType.Completed, convert.Progress[^1].RecordType);
        AssertHolds(Path.Combine(dir, "flat.vhdx"), 100L << 20, pattern);

        // Merge folds the child into its parent and deletes it.
        var merged = (VirtualHardDisk)Assert.Single((await Ps.RunAsync("Merge-VHD -Path child.avhdx -Passthru")).Ok()).BaseObject;
        Assert.Equal(Path.Combine(dir, "base.vhdx"), merged.Path);
        Assert.False(File.Exists(Path.Combine(dir, "child.avhdx")));
        AssertHolds(Path.Combine(dir, "base.vhdx"), 100L << 20, pattern);

        // Resize grows; -ToMinimumSize shrinks to the end of the data's 32 MiB block (data ends at 101 MiB), keeping it.
        var sizes = (await Ps.RunAsync("""
            (Resize-VHD -Path base.vhdx -SizeBytes 512MB -Passthru).Size
            (Get-VHD base.vhdx).MinimumSize
            Resize-VHD base.vhdx -ToMinimumSize
            (Get-VHD base.vhdx).Size
            """)).Ok().Select(o => Convert.ToUInt64(o.BaseObject)).ToList();
        Assert.Equal([512UL << 20, 128UL << 20, 128UL << 20], sizes);
        AssertHolds(Path.Combine(dir, "base.vhdx"), 100L << 20, pattern);

        // Optimize gives back a block that only holds zeros now.
        using (var disk = VirtualDisk.Open(Path.Combine(dir, "base.vhdx"))) { disk.Write(100L << 20, new byte[1 << 20]); disk.Flush(); }
        var optimize = await Ps.RunAsync("$before = (Get-VHD base.vhdx).FileSize; $after = (Optimize-VHD base.vhdx -Mode Full -Passthru).FileSize; $before; $after");
        var (before, after) = (Convert.ToUInt64(optimize.Ok()[0].BaseObject), Convert.ToUInt64(optimize.Output[1].BaseObject));
        Assert.True(after + (16UL << 20) <= before, $"Optimize-VHD left the file at {after} bytes (was {before})");
        Assert.True((bool)Assert.Single((await Ps.RunAsync("Test-VHD base.vhdx")).Ok()).BaseObject);

        if (!QemuImg.Available) { output.WriteLine(QemuImg.MissingReason); return; }
        foreach (var file in new[] { "base.vhdx", "flat.vhdx" })
        {
            var (code, text) = await QemuImg.CheckAsync(Path.Combine(dir, file), "vhdx");
            Assert.True(code == 0, $"qemu-img check {file}: {text}");
        }
    }

    [Fact]
    public async Task WhatIf_leaves_every_file_untouched()
    {
        string dir = Host.Disks;
        (await Ps.RunAsync("New-VHD base.vhdx 64MB | Out-Null; New-VHD child.avhdx -ParentPath base.vhdx -Differencing | Out-Null")).Ok();
        var before = Snapshot(dir);
        var result = await Ps.RunAsync("""
            New-VHD other.vhdx 64MB -WhatIf
            Resize-VHD base.vhdx 128MB -WhatIf
            Convert-VHD child.avhdx flat.vhdx -WhatIf
            Merge-VHD child.avhdx -WhatIf
            Optimize-VHD base.vhdx -WhatIf
            """);
        Assert.Empty(result.Ok());
        Assert.Equal(before, Snapshot(dir));
    }

    [Fact]
    public async Task Errors_are_records_with_Hyper_V_categories_and_one_bad_path_does_not_stop_the_rest()
    {
        (await Ps.RunAsync("New-VHD a.vhdx 16MB | Out-Null; New-VHD b.vhdx 16MB | Out-Null")).Ok();

        var list = await Ps.RunAsync("Get-VHD a.vhdx, missing.vhdx, b.vhdx");
        Assert.Equal(2, list.Output.Count);
        var missing = Assert.Single(list.Errors);
        Assert.Equal(ErrorCategory.ObjectNotFound, missing.CategoryInfo.Category);
        Assert.Equal(Path.Combine(Host.Disks, "missing.vhdx"), missing.TargetObject);
        Assert.StartsWith("ObjectNotFound,", missing.FullyQualifiedErrorId);

        var exists = Assert.Single((await Ps.RunAsync("New-VHD a.vhdx 16MB")).Errors);
        Assert.Equal(ErrorCategory.ResourceExists, exists.CategoryInfo.Category);

        var badSize = Assert.Single((await Ps.RunAsync("New-VHD odd.vhdx -SizeBytes 1000")).Errors);
        Assert.Equal(ErrorCategory.InvalidArgument, badSize.CategoryInfo.Category);
        Assert.Equal("size_bytes", Assert.IsType<VirtualizationException>(badSize.Exception).Parameter);
        Assert.False(File.Exists(Path.Combine(Host.Disks, "odd.vhdx")));

        var notDifferencing = Assert.Single((await Ps.RunAsync("Merge-VHD a.vhdx")).Errors);
        Assert.Equal(ErrorCategory.InvalidOperation, notDifferencing.CategoryInfo.Category);

        var remote = await Ps.RunAsync("Get-VHD a.vhdx -ComputerName hv-remote-01");
        Assert.Empty(remote.Output);
        Assert.Equal(ErrorCategory.InvalidArgument, Assert.Single(remote.Errors).CategoryInfo.Category);
        Assert.Single((await Ps.RunAsync("Get-VHD a.vhdx -ComputerName localhost")).Ok());

        // A caught error in a script the way admins write them.
        var caught = (await Ps.RunAsync("try { Get-VHD nope.vhdx -ErrorAction Stop } catch { $_.CategoryInfo.Category.ToString() }")).Ok();
        Assert.Equal("ObjectNotFound", Assert.Single(caught).BaseObject);
    }

    [Fact]
    public async Task Get_VHD_and_Test_VHD_refuse_what_is_not_an_image_of_its_format()
    {
        var random = new byte[1 << 20];
        new Random(3).NextBytes(random);
        File.WriteAllBytes(Path.Combine(Host.Disks, "random.vhdx"), random);
        using (var mkfifo = System.Diagnostics.Process.Start("/usr/bin/mkfifo", Path.Combine(Host.Disks, "pipe.vhdx"))) mkfifo.WaitForExit();
        foreach (var (name, expected) in new[] { ("random.vhdx", "'vhdxfile'"), ("pipe.vhdx", "FIFO") })
        {
            foreach (var cmdlet in new[] { "Get-VHD", "Test-VHD" })
            {
                var run = Ps.RunAsync($"{cmdlet} {name}");
                Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) == run, $"{cmdlet} {name} hangs");
                var error = Assert.Single((await run).Errors);
                output.WriteLine($"{cmdlet} {name}: {error.Exception.Message}");
                Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
                Assert.Contains(Path.Combine(Host.Disks, name), error.Exception.Message);
                Assert.Contains(expected, error.Exception.Message);
            }
        }
    }

    [Fact]
    public async Task A_host_that_is_not_running_is_a_ConnectionError()
    {
        using var ps = new PsSession(Path.Combine(Host.Root, "nobody-listens.sock"), Host.Disks);
        var result = await ps.RunAsync("Get-VHD a.vhdx, b.vhdx");
        var error = Assert.Single(result.Errors);
        Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
        Assert.Contains("hyper host", error.Exception.Message);
    }

    private static void AssertHolds(string path, long offset, byte[] expected)
    {
        using var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        var actual = new byte[expected.Length];
        disk.Read(offset, actual);
        Assert.True(actual.AsSpan().SequenceEqual(expected), $"{path} does not hold the data written at {offset}");
    }

    private static SortedDictionary<string, (long, DateTime)> Snapshot(string dir) => new(
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f))), StringComparer.Ordinal);
}
