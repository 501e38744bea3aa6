namespace HyperSharp.Cli.Tests;

public class SizeParserTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512", 512L)]
    [InlineData("4K", 4096L)]
    [InlineData("4k", 4096L)]
    [InlineData("4KB", 4096L)]
    [InlineData("4KiB", 4096L)]
    [InlineData("512MiB", 512L << 20)]
    [InlineData("512MB", 512L << 20)]
    [InlineData("10GB", 10L << 30)]
    [InlineData("10 GB", 10L << 30)]
    [InlineData("1.5G", 3L << 29)]
    [InlineData("1T", 1L << 40)]
    [InlineData("2PiB", 2L << 50)]
    [InlineData("100B", 100L)]
    public void ParsesUnitsAsPowersOf1024(string text, long expected) => Assert.Equal(expected, SizeParser.Parse(text));

    [Theory]
    [InlineData("", "expected")]
    [InlineData("GB", "expected")]
    [InlineData("10XB", "unknown unit 'XB'")]
    [InlineData("-1G", "expected")]
    [InlineData("1.0000001K", "not a whole number")]
    [InlineData("99999999P", "too large")]
    [InlineData("1e9", "expected")]
    public void RejectsBadSizesWithAReason(string text, string reason)
    {
        var e = Assert.Throws<UsageException>(() => SizeParser.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1000L, "1000 B")]
    [InlineData(4096L, "4 KiB")]
    [InlineData(10L << 30, "10 GiB")]
    [InlineData(3L << 29, "1.5 GiB")]
    public void FormatsForPeople(long bytes, string expected) => Assert.Equal(expected, SizeParser.Format(bytes));
}
