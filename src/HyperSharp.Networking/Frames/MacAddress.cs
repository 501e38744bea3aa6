using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HyperSharp.Networking.Frames;

/// <summary>A 48-bit Ethernet address, held in the low bits of a ulong so comparing and hashing cost nothing.</summary>
[JsonConverter(typeof(MacAddressJsonConverter))]
public readonly record struct MacAddress(ulong Value)
{
    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFF);

    /// <summary>Reads six bytes in wire order.</summary>
    public static MacAddress Read(ReadOnlySpan<byte> b) =>
        new((ulong)BinaryPrimitives.ReadUInt16BigEndian(b) << 32 | BinaryPrimitives.ReadUInt32BigEndian(b[2..]));

    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(b[2..], (uint)Value);
    }

    /// <summary>Group bit (I/G) of the first octet: multicast and broadcast.</summary>
    public bool IsMulticast => (Value >> 40 & 1) != 0;

    public bool IsBroadcast => Value == Broadcast.Value;

    /// <summary>Accepts 00-15-5D-01-02-03, 00:15:5d:01:02:03 and Hyper-V's 00155D010203.</summary>
    public static MacAddress Parse(string text)
    {
        string hex = text.Replace("-", "").Replace(":", "").Replace(".", "");
        if (hex.Length != 12 || !ulong.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong v))
            throw new FormatException($"'{text}' is not a MAC address (six hex octets, e.g. 0A-48-53-00-00-01)");
        return new MacAddress(v);
    }

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[6];
        Write(b);
        return $"{b[0]:X2}-{b[1]:X2}-{b[2]:X2}-{b[3]:X2}-{b[4]:X2}-{b[5]:X2}";
    }
}

/// <summary>MAC addresses in JSON as their text form.</summary>
internal sealed class MacAddressJsonConverter : JsonConverter<MacAddress>
{
    public override MacAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        MacAddress.Parse(reader.GetString() ?? throw new JsonException("a MAC address is null"));

    public override void Write(Utf8JsonWriter writer, MacAddress value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
