using System.Globalization;
using System.Text;

namespace HyperSharp.Host.Service;

/// <summary>
/// Text a client sent, made safe to echo in a message: control characters, format characters (zero-width, bidirectional
/// marks, the byte-order mark) and line separators are written as escapes (\n, \u200B), so an error stays one line and
/// shows what was sent instead of hiding or reordering it.
/// </summary>
public static class DisplayText
{
    /// <summary>Whether <paramref name="rune"/> prints nothing, moves the text, or changes how the text around it reads.</summary>
    public static bool IsInvisible(Rune rune) => Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate;

    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var escaped = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (!IsInvisible(rune)) escaped.Append(rune.ToString());
            else escaped.Append(rune.Value switch
            {
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                <= 0xFFFF => $"\\u{rune.Value:X4}",
                _ => $"\\U{rune.Value:X8}",
            });
        }
        return escaped.ToString();
    }
}
