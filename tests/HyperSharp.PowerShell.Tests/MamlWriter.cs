using System.Management.Automation;
using System.Reflection;
using System.Xml.Linq;
using HyperSharp.PowerShell;

namespace HyperSharp.PowerShell.Tests;

/// <summary>
/// Writes the module's MAML help (what Get-Help reads) from the cmdlets themselves: synopsis, description and
/// examples from <see cref="CmdletHelpAttribute"/>/<see cref="CmdletExampleAttribute"/>, parameters, their sets,
/// positions, pipeline input and descriptions (HelpMessage) from the [Parameter] attributes.
/// </summary>
public static class MamlWriter
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public static string Generate(Assembly module)
    {
        var cmdlets = module.GetTypes()
            .Select(t => (Type: t, Cmdlet: t.GetCustomAttribute<CmdletAttribute>()))
            .Where(x => x.Cmdlet is not null && !x.Type.IsAbstract)
            .OrderBy(x => x.Cmdlet!.NounName, StringComparer.Ordinal).ThenBy(x => x.Cmdlet!.VerbName, StringComparer.Ordinal);
        var root = new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
            new XAttribute(XNamespace.Xmlns + "maml", Maml), new XAttribute(XNamespace.Xmlns + "command", Command), new XAttribute(XNamespace.Xmlns + "dev", Dev));
        foreach (var (type, cmdlet) in cmdlets) root.Add(CommandElement(type, cmdlet!));
        return new XDocument(new XDeclaration("1.0", "utf-8", null), root).Declaration + "\n" + root + "\n";
    }

    private static XElement CommandElement(Type type, CmdletAttribute cmdlet)
    {
        var help = type.GetCustomAttribute<CmdletHelpAttribute>() ?? throw new InvalidOperationException($"{type.Name} has no [CmdletHelp]");
        string name = $"{cmdlet.VerbName}-{cmdlet.NounName}";
        var parameters = Parameters(type);
        var sets = parameters.SelectMany(p => p.Attributes.Select(a => a.ParameterSetName)).Where(s => s != ParameterAttribute.AllParameterSets).Distinct().ToList();
        if (sets.Count == 0) sets.Add(ParameterAttribute.AllParameterSets);
        var examples = type.GetCustomAttributes<CmdletExampleAttribute>().ToList();
        if (examples.Count == 0) throw new InvalidOperationException($"{name} has no [CmdletExample]");
        return new XElement(Command + "command",
            new XElement(Command + "details",
                new XElement(Command + "name", name),
                new XElement(Command + "verb", cmdlet.VerbName),
                new XElement(Command + "noun", cmdlet.NounName),
                Para(help.Synopsis)),
            Para(help.Description),
            new XElement(Command + "syntax", sets.Select(set => SyntaxItem(name, set, parameters, cmdlet.SupportsShouldProcess))),
            new XElement(Command + "parameters", parameters.Select(ParameterElement)),
            new XElement(Command + "examples", examples.Select((e, i) => new XElement(Command + "example",
                new XElement(Maml + "title", $"-------------------------- Example {i + 1} --------------------------"),
                new XElement(Dev + "code", e.Code),
                new XElement(Dev + "remarks", new XElement(Maml + "para", e.Remarks))))));
    }

    private sealed record Param(string Name, Type Type, IReadOnlyList<ParameterAttribute> Attributes, string[] Aliases, bool Wildcards)
    {
        public string Description => Attributes.Select(a => a.HelpMessage).FirstOrDefault(m => !string.IsNullOrEmpty(m))
            ?? throw new InvalidOperationException($"parameter {Name} has no HelpMessage");
    }

    private static List<Param> Parameters(Type type) => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => (Property: p, Attributes: p.GetCustomAttributes<ParameterAttribute>().ToList()))
        .Where(x => x.Attributes.Count > 0)
        .Select(x => new Param(x.Property.Name, x.Property.PropertyType, x.Attributes,
            x.Property.GetCustomAttribute<AliasAttribute>()?.AliasNames.ToArray() ?? [], x.Property.GetCustomAttribute<SupportsWildcardsAttribute>() is not null))
        .OrderBy(p => p.Attributes.Min(a => a.Position < 0 ? int.MaxValue : a.Position)).ThenBy(p => p.Name, StringComparer.Ordinal)
        .ToList();

    private static XElement SyntaxItem(string name, string set, List<Param> parameters, bool shouldProcess)
    {
        var item = new XElement(Command + "syntaxItem", new XElement(Maml + "name", name));
        foreach (var p in parameters)
        {
            var a = p.Attributes.FirstOrDefault(x => x.ParameterSetName == set) ?? p.Attributes.FirstOrDefault(x => x.ParameterSetName == ParameterAttribute.AllParameterSets);
            if (a is null) continue;
            item.Add(new XElement(Command + "parameter", Attributes(p, a), new XElement(Maml + "name", p.Name), Value(p)));
        }
        if (shouldProcess)
            foreach (var common in new[] { "WhatIf", "Confirm" })
                item.Add(new XElement(Command + "parameter", new XAttribute("required", "false"), new XAttribute("position", "named"), new XElement(Maml + "name", common)));
        return item;
    }

    private static XElement ParameterElement(Param p) => new(Command + "parameter",
        Attributes(p, p.Attributes[0]),
        new XElement(Maml + "name", p.Name),
        Para(p.Description),
        Value(p),
        new XElement(Dev + "type", new XElement(Maml + "name", TypeName(p.Type))));

    private static IEnumerable<XAttribute> Attributes(Param p, ParameterAttribute a)
    {
        yield return new XAttribute("required", a.Mandatory ? "true" : "false");
        yield return new XAttribute("variableLength", p.Type.IsArray ? "true" : "false");
        yield return new XAttribute("globbing", p.Wildcards ? "true" : "false");
        string pipeline = (a.ValueFromPipeline, a.ValueFromPipelineByPropertyName) switch
        {
            (true, true) => "True (ByPropertyName, ByValue)",
            (true, false) => "True (ByValue)",
            (false, true) => "True (ByPropertyName)",
            _ => "False",
        };
        yield return new XAttribute("pipelineInput", pipeline);
        yield return new XAttribute("position", a.Position < 0 ? "named" : a.Position.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new XAttribute("aliases", p.Aliases.Length == 0 ? "none" : string.Join(", ", p.Aliases));
    }

    private static XElement? Value(Param p) => p.Type == typeof(SwitchParameter) ? null
        : new XElement(Command + "parameterValue", new XAttribute("required", "true"), TypeName(p.Type));

    private static string TypeName(Type t)
    {
        var underlying = Nullable.GetUnderlyingType(t);
        if (underlying is not null) return TypeName(underlying);
        if (t.IsArray) return TypeName(t.GetElementType()!) + "[]";
        return t.Name;
    }

    private static XElement Para(string text) => new(Maml + "description", new XElement(Maml + "para", text));
}
