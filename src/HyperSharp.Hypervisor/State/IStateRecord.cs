namespace HyperSharp.Hypervisor.State;

/// <summary>
/// A versioned saved-state record (a device's, a processor's, a backend's), never the live object: what it
/// writes in the version this build writes, and how it reads every version it still supports. Versions start
/// at 1; device records' version 1 was JSON, which the device registry reads for them.
/// </summary>
public interface IStateRecord<TSelf> where TSelf : IStateRecord<TSelf>
{
    /// <summary>The version <see cref="Write"/> writes, and the newest <see cref="Read"/> accepts.</summary>
    static abstract ushort Version { get; }

    /// <summary>Writes the record's fields in version <see cref="Version"/>.</summary>
    void Write(StateWriter writer);

    /// <summary>Reads a record written in <paramref name="version"/> (never newer than <see cref="Version"/>).</summary>
    static abstract TSelf Read(ref StateReader reader, ushort version);
}

/// <summary>A record as saved: its version and its bytes in that version's encoding.</summary>
public readonly record struct SavedRecord(ushort Version, byte[] Data)
{
    /// <summary>The record of <paramref name="state"/> in the version this build writes.</summary>
    public static SavedRecord Of<T>(T state) where T : IStateRecord<T>
    {
        var writer = new StateWriter();
        state.Write(writer);
        return new SavedRecord(T.Version, writer.ToArray());
    }

    /// <summary>
    /// Reads the record as <typeparamref name="T"/>: refuses a newer version (<see cref="StateVersionException"/>)
    /// and bytes left over; <paramref name="name"/> names it in errors.
    /// </summary>
    public T Read<T>(string name) where T : IStateRecord<T>
    {
        if (Version > T.Version) throw new StateVersionException(name, Version, T.Version);
        if (Version == 0) throw new StateRecordException(name, 0, "version 0 does not exist");
        var reader = new StateReader(Data, name);
        var state = T.Read(ref reader, Version);
        reader.End();
        return state;
    }

    /// <summary>The record as bytes of its own (u16 version, then the data), to nest inside another record's field.</summary>
    public byte[] Pack()
    {
        var bytes = new byte[2 + Data.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes, Version);
        Data.CopyTo(bytes, 2);
        return bytes;
    }

    /// <summary>Reads what <see cref="Pack"/> wrote.</summary>
    public static SavedRecord Unpack(ReadOnlySpan<byte> packed, string name)
    {
        if (packed.Length < 2) throw new StateRecordException(name, 0, $"{packed.Length} bytes cannot hold a record's version");
        return new SavedRecord(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(packed), packed[2..].ToArray());
    }
}
