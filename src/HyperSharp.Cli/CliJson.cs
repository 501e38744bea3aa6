using System.Text.Json;
using System.Text.Json.Serialization;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Cli;

/// <summary>JSON output of `--json` commands, source-generated (no reflection at run time); enums as names.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(DiskInfo))]
[JsonSerializable(typeof(DiskCheckReport))]
public sealed partial class CliJson : JsonSerializerContext
{
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, typeof(T), Default);
}
