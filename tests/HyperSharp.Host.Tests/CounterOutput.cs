namespace HyperSharp.Host.Tests;

/// <summary>Reads what <see cref="TestGuests.Counter"/> printed: the complete lines as numbers.</summary>
public static class CounterOutput
{
    public static List<long> Numbers(string text)
    {
        var numbers = new List<long>();
        var lines = text.Split('\n');
        // The last piece has no newline yet: a line still being printed.
        for (int i = 0; i < lines.Length - 1; i++)
            if (lines[i].Length == 8 && long.TryParse(lines[i], System.Globalization.NumberStyles.HexNumber, null, out long n)) numbers.Add(n);
        return numbers;
    }

    public static long Last(string text) => Numbers(text) is { Count: > 0 } n ? n[^1] : 0;

    /// <summary>Asserts the numbers run 1, 2, 3... with no gap and no repeat.</summary>
    public static void AssertConsecutiveFromOne(string text)
    {
        var numbers = Numbers(text);
        Assert.NotEmpty(numbers);
        for (int i = 0; i < numbers.Count; i++)
            if (numbers[i] != i + 1) Assert.Fail($"line {i + 1} of the console reads {numbers[i]:X8}, expected {i + 1:X8}");
    }
}
