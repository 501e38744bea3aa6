using System.Text.Json;
using System.Text.Json.Serialization;

namespace HyperSharp.Inventory;

/// <summary>The inventory's files as JSON, source-generated; enums as names so the files read well.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(VmConfiguration))]
[JsonSerializable(typeof(VmRuntimeRecord))]
[JsonSerializable(typeof(WorkerExitRecord))]
public sealed partial class InventoryJson : JsonSerializerContext
{
    public static void WriteAtomic<T>(string path, T value) =>
        AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default));

    /// <summary>The file's record, or null if it does not exist.</summary>
    public static T? Read<T>(string path) where T : class
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        return (T?)JsonSerializer.Deserialize(bytes, typeof(T), Default)
            ?? throw new InvalidDataException($"{path} holds no record");
    }
}
