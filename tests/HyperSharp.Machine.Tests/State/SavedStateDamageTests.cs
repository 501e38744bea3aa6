using HyperSharp.Machine.State;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.State;

/// <summary>One saved counter guest (Emulated backend), copied for each test to damage.</summary>
public sealed class SavedCounterFixture : IDisposable
{
    public SavedCounterFixture()
    {
        Dir = Directory.CreateTempSubdirectory("hs-state-damage").FullName;
        State = Path.Combine(Dir, "saved.state");
        Before = CounterGuest.SaveMidway("emulated", Dir, State, linesBeforeSave: 16, _ => { });
    }

    public string Dir { get; }
    public string State { get; }
    public string Before { get; }

    public void Dispose() => Directory.Delete(Dir, true);
}

/// <summary>
/// A saved state that is damaged, truncated, newer than this build, missing or a directory is refused with a
/// <see cref="SavedStateException"/> naming the file (and the record and its offset), before the guest runs.
/// </summary>
public class SavedStateDamageTests(SavedCounterFixture saved, ITestOutputHelper output) : IClassFixture<SavedCounterFixture>
{
    private string Copy(string name)
    {
        string path = Path.Combine(saved.Dir, name + "-" + Guid.NewGuid().ToString("N")[..8] + ".state");
        File.Copy(saved.State, path);
        return path;
    }

    private SavedStateException Refused(string path)
    {
        var e = Assert.Throws<SavedStateException>(() => CounterGuest.RestoreAndRun("emulated", path, output.WriteLine));
        output.WriteLine(e.Message);
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.DoesNotContain("Unable to read beyond the end of the stream", e.Message);
        return e;
    }

    [Fact]
    public void TheUndamagedCopyRestores()
    {
        var (stopped, after) = CounterGuest.RestoreAndRun("emulated", Copy("good"), output.WriteLine);
        Assert.Equal(VmStopReason.PowerOff, stopped.Reason);
        Assert.Equal(CounterGuest.Expected(), saved.Before + after);
    }

    [Fact]
    public void FourKiBOfRandomBytesInTheMemory_AreRefusedNamingTheChunk()
    {
        string path = Copy("random");
        var chunk = StateFileLayout.Records(path).Where(r => r.Kind == RecordLayout.Memory).MaxBy(r => r.PayloadLength)!;
        Assert.True(chunk.PayloadLength >= 8 + 2 * 4096, $"the largest memory chunk has only {chunk.PayloadLength} bytes");
        var random = new byte[4096];
        new Random(11).NextBytes(random);
        StateFileLayout.Overwrite(path, chunk.PayloadOffset + 8 + 1000, random);
        var e = Refused(path);
        Assert.StartsWith("memory chunk at guest address 0x", e.Record);
        Assert.Equal(chunk.Offset, e.FileOffset);
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void ADamagedDeviceRecord_IsRefusedNamingIt()
    {
        string path = Copy("device");
        var com1 = StateFileLayout.Records(path).Single(r => r.Kind == RecordLayout.Device && r.Key == "com1");
        StateFileLayout.Overwrite(path, com1.PayloadOffset + 3, [0x5A]);
        var e = Refused(path);
        Assert.Equal("device com1", e.Record);
        Assert.Equal(com1.Offset, e.FileOffset);
    }

    [Fact]
    public void ATruncatedFile_IsRefusedSayingWhereItEnds()
    {
        long length = new FileInfo(saved.State).Length;
        var records = StateFileLayout.Records(saved.State);
        var cuts = new List<long> { 0, 5, 11, 20, records[0].Offset + 20, records[1].Offset + 3, length / 2, length - 30, length - 1 };
        foreach (long cut in cuts)
        {
            string path = Copy($"cut{cut}");
            using (var f = new FileStream(path, FileMode.Open, FileAccess.Write)) f.SetLength(cut);
            var e = Refused(path);
            Assert.True(e.Message.Contains("truncated") || e.Message.Contains("records are missing"), $"cut at {cut}: {e.Message}");
        }
    }

    [Theory]
    [InlineData(RecordLayout.Device, "com1", "device com1", 2)]
    [InlineData(RecordLayout.Processor, "0", "processor 0", 2)]
    [InlineData(RecordLayout.Platform, "", "platform (Emulated backend)", 2)]
    [InlineData(RecordLayout.Machine, "", "machine", 3)]
    public void ARecordOfANewerVersion_IsRefusedNamingBothBuilds(ushort kind, string key, string name, int supported)
    {
        string path = Copy("newer");
        var record = StateFileLayout.Records(path).First(r => r.Kind == kind && r.Key == key);
        StateFileLayout.SetVersion(path, record, 99);
        var e = Refused(path);
        string build = typeof(VmStateFile).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
        string shortBuild = build.Contains('+') ? build[..Math.Min(build.Length, build.IndexOf('+') + 13)] : build;
        Assert.Contains($"saved by HyperSharp {shortBuild} (record {name} version 99); this is HyperSharp {shortBuild}, which reads up to {supported}", e.Message);
        Assert.Equal(record.Offset, e.FileOffset);
    }

    [Fact]
    public void ANewerFileFormat_IsRefusedNamingBothBuilds()
    {
        string path = Copy("format");
        StateFileLayout.SetFormat(path, 3);
        var e = Refused(path);
        Assert.Contains("(file format 3); this is HyperSharp ", e.Message);
        Assert.Contains("which reads file formats up to 2", e.Message);
    }

    [Fact]
    public void AMissingSavedStateOrADirectory_IsAnErrorNamingIt()
    {
        string missing = Path.Combine(saved.Dir, "missing.state");
        Assert.Contains("missing", Refused(missing).Message);
        string folder = Path.Combine(saved.Dir, "folder.state");
        Directory.CreateDirectory(folder);
        Assert.Contains("is a directory", Refused(folder).Message);
        Assert.Contains("is a directory", Assert.Throws<SavedStateException>(() => VmStateFile.ReadConfig(folder)).Message);
    }

    [Fact]
    public void BytesAfterTheEndRecord_AreRefused()
    {
        string path = Copy("trailing");
        File.AppendAllText(path, "x");
        Assert.Contains("bytes follow the end record", Refused(path).Message);
    }
}
