# Specs that need no hosts: the module's surface as a user reads it in pwsh (help, parameters, completion, table
# views) and the local stores (host inventory, key pairs, instance types). Pester 6; see Common.ps1.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../../out/VirtFleet/VirtFleet.psd1')
    $commandCases = Get-Command -Module VirtFleet | Sort-Object Name | ForEach-Object { @{ Command = $_.Name } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters +
        [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'VirtFleet module' {
    It 'exports only approved verbs with the Vf prefix' {
        $approved = (Get-Verb).Verb
        foreach ($c in Get-Command -Module VirtFleet) {
            $c.Verb | Should -BeIn $approved
            $c.Noun | Should -BeLike 'Vf*'
        }
    }

    It 'supports -WhatIf and -Confirm on every command that changes something' {
        Get-Command -Module VirtFleet |
            Where-Object Verb -NotIn 'Get', 'Test', 'Wait' |
            ForEach-Object {
                $_.Parameters.Keys | Should -Contain 'WhatIf' -Because $_.Name
                $_.Parameters.Keys | Should -Contain 'Confirm' -Because $_.Name
            }
    }

    It 'gives each parameter name one type across the module' {
        $types = foreach ($c in Get-Command -Module VirtFleet) {
            foreach ($p in $c.Parameters.Values | Where-Object Name -NotIn $common) {
                $t = $p.ParameterType
                if ($t.IsArray) { $t = $t.GetElementType() }
                if ([Nullable]::GetUnderlyingType($t)) { $t = [Nullable]::GetUnderlyingType($t) }
                [pscustomobject]@{ Parameter = $p.Name; Type = $t.Name; Command = $c.Name }
            }
        }
        $clashes = $types | Group-Object Parameter |
            Where-Object { @($_.Group.Type | Sort-Object -Unique).Count -gt 1 } |
            ForEach-Object { "-$($_.Name): " + (($_.Group | ForEach-Object { "$($_.Command) $($_.Type)" }) -join ', ') }
        $clashes | Should -BeNullOrEmpty
    }
}

Describe 'Help as Get-Help shows it' {
    It '<Command> has an example in Get-Help -Examples' -ForEach $commandCases {
        $help = Get-Help $Command -Examples
        @($help.examples.example).Count | Should -BeGreaterThan 0
        ($help.examples.example[0].code | Out-String).Trim() | Should -Match ([regex]::Escape($Command))
        $help.Synopsis | Should -Not -BeNullOrEmpty
    }

    It '<Command> describes every parameter' -ForEach $commandCases {
        $undescribed = foreach ($p in (Get-Command $Command).Parameters.Values | Where-Object Name -NotIn $common) {
            $text = (Get-Help $Command -Parameter $p.Name).description | Out-String
            if (-not $text.Trim()) { "-$($p.Name)" }
        }
        $undescribed | Should -BeNullOrEmpty -Because "Get-Help $Command -Parameter <name> should say what each one does"
    }
}

Describe 'Host inventory' {
    BeforeAll {
        $inventory = Join-Path $TestDrive 'inventory.yml'
    }
    AfterEach {
        Get-VfHost -Inventory $inventory | Remove-VfHost -Inventory $inventory -Confirm:$false
    }

    It 'adds, lists, changes and removes hosts' {
        Add-VfHost -Name hv1 -Address 198.51.100.11 -Tag rack1 -Inventory $inventory | Should -Not -BeNullOrEmpty
        Add-VfHost -Name hv2 -Address 198.51.100.12 -Inventory $inventory | Out-Null
        (Get-VfHost -Inventory $inventory).Count | Should -Be 2
        (Get-VfHost -Tag rack1 -Inventory $inventory).Name | Should -Be 'hv1'
        Set-VfHost -Name hv2 -Port 2222 -User ops -Inventory $inventory | Out-Null
        $hv2 = Get-VfHost hv2 -Inventory $inventory
        $hv2.Port | Should -Be 2222
        $hv2.User | Should -Be 'ops'
        Get-VfHost hv* -Inventory $inventory | Remove-VfHost -Inventory $inventory -Confirm:$false
        Get-VfHost -Inventory $inventory | Should -BeNullOrEmpty
    }

    It 'changes nothing under -WhatIf' {
        Add-VfHost -Name hv3 -Address 198.51.100.13 -Inventory $inventory -WhatIf
        Get-VfHost -Inventory $inventory | Should -BeNullOrEmpty
        Add-VfHost -Name hv3 -Address 198.51.100.13 -Inventory $inventory | Out-Null
        Set-VfHost -Name hv3 -Port 2200 -Inventory $inventory -WhatIf
        Remove-VfHost hv3 -Inventory $inventory -WhatIf
        (Get-VfHost hv3 -Inventory $inventory).Port | Should -Be 22
    }

    It 'turns sudo on with a bare -Sudo switch' {
        Add-VfHost -Name hv4 -Address 198.51.100.14 -Inventory $inventory | Out-Null
        Set-VfHost -Name hv4 -Sudo -Inventory $inventory | Out-Null
        (Get-VfHost hv4 -Inventory $inventory).Sudo | Should -BeTrue
        Set-VfHost -Name hv4 -Sudo:$false -Inventory $inventory | Out-Null
        (Get-VfHost hv4 -Inventory $inventory).Sudo | Should -BeFalse
    }

    It 'refuses a second host of the same name with HostExists' {
        Add-VfHost -Name hv5 -Address 198.51.100.15 -Inventory $inventory | Out-Null
        { Add-VfHost -Name hv5 -Address 198.51.100.16 -Inventory $inventory -ErrorAction Stop } |
            Should -Throw -ErrorId 'HostExists,VirtFleet.Cmdlets.Commands.AddVfHostCommand'
        (Get-VfHost hv5 -Inventory $inventory).Address | Should -Be '198.51.100.15'
    }

    It 'reports an unknown host with HostNotFound from <Command>' -ForEach @(
        @{ Command = 'Set-VfHost'; Run = { Set-VfHost -Name nosuch -Port 2 -Inventory $inventory -ErrorAction Stop } }
        @{ Command = 'Remove-VfHost'; Run = { Remove-VfHost -Name nosuch -Inventory $inventory -Confirm:$false -ErrorAction Stop } }
    ) {
        $Run | Should -Throw -ErrorId "HostNotFound,VirtFleet.Cmdlets.Commands.$($Command -replace '-', '')Command"
    }

    It 'reports an unknown host with HostNotFound from Get-VfHost' {
        Add-VfHost -Name hv11 -Address 198.51.100.25 -Inventory $inventory | Out-Null
        { Get-VfHost nosuch -Inventory $inventory -ErrorAction Stop } |
            Should -Throw -ErrorId 'HostNotFound,VirtFleet.Cmdlets.Commands.GetVfHostCommand'
        Get-VfHost nosuch* -Inventory $inventory | Should -BeNullOrEmpty
    }

    It 'refuses an -Inventory file that does not exist with InventoryNotFound' {
        { Get-VfHost -Inventory (Join-Path $TestDrive 'nosuch.yml') -ErrorAction Stop } |
            Should -Throw -ErrorId 'InventoryNotFound,VirtFleet.Cmdlets.Commands.GetVfHostCommand'
    }

    It 'rejects hostile name <Name> with InvalidHostName' -ForEach @(
        @{ Name = 'a;touch /tmp/x' }, @{ Name = '$(id)' }, @{ Name = "a`nb" }, @{ Name = '-oProxyCommand=x' }
    ) {
        { Add-VfHost -Name $Name -Address 198.51.100.14 -Inventory $inventory -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidHostName,VirtFleet.Cmdlets.Commands.AddVfHostCommand'
        Get-VfHost -Inventory $inventory | Should -BeNullOrEmpty
    }

    It 'shows long host names in full in the table view' {
        $long = 'hypervisor-in-rack-seventeen-row-b.example.net'
        Add-VfHost -Name $long -Address 198.51.100.17 -Tag rack17 -Inventory $inventory | Out-Null
        Add-VfHost -Name hv6 -Address 198.51.100.18 -Inventory $inventory | Out-Null
        $table = Get-VfHost -Inventory $inventory | ConvertTo-VfTable
        $table | Should -Match ([regex]::Escape($long))
        $table | Should -Match '(?m)^Name\s+Address\s+Port\s+User\s+Tags'
        $table | Should -Not -Match '…'
    }

    It 'flows through Where-Object, Sort-Object, Select-Object, Group-Object and ConvertTo-Json' {
        Add-VfHost -Name hv7 -Address 198.51.100.21 -Tag web -Inventory $inventory | Out-Null
        Add-VfHost -Name hv8 -Address 198.51.100.22 -Tag web -Port 2222 -Inventory $inventory | Out-Null
        Add-VfHost -Name hv9 -Address 198.51.100.23 -Tag db -Inventory $inventory | Out-Null
        $web = Get-VfHost -Inventory $inventory | Where-Object { $_.Tags -contains 'web' } |
            Sort-Object Name -Descending | Select-Object Name, Port
        $web.Name | Should -Be 'hv8', 'hv7'
        $groups = Get-VfHost -Inventory $inventory | Group-Object { $_.Tags[0] } | Sort-Object Name
        $groups.Name | Should -Be 'db', 'web'
        $groups[1].Count | Should -Be 2
        $json = Get-VfHost hv8 -Inventory $inventory | Select-Object Name, Address, Port | ConvertTo-Json | ConvertFrom-Json
        $json.Address | Should -Be '198.51.100.22'
        $json.Port | Should -Be 2222
    }

    It 'fills -OutVariable' {
        Add-VfHost -Name hv10 -Address 198.51.100.24 -Inventory $inventory -OutVariable added | Out-Null
        $added.Name | Should -Be 'hv10'
        Get-VfHost -Inventory $inventory -OutVariable listed | Out-Null
        $listed.Count | Should -Be 1
    }

    It 'completes -Host and -Name with the inventory''s host names' {
        Add-VfHost -Name rack1-hv1 -Address 198.51.100.31 -Inventory $inventory | Out-Null
        Add-VfHost -Name rack1-hv2 -Address 198.51.100.32 -Inventory $inventory | Out-Null
        Add-VfHost -Name rack2-hv1 -Address 198.51.100.33 -Inventory $inventory | Out-Null
        Get-VfCompletion "Get-VfInstance -Inventory $inventory -Host rack1" | Should -Be 'rack1-hv1', 'rack1-hv2'
        Get-VfCompletion "Remove-VfHost -Inventory $inventory -Name rack2" | Should -Be 'rack2-hv1'
        Get-VfCompletion "Set-VfHost -Inventory $inventory -Name rack" | Should -HaveCount 3
    }
}

Describe 'Key pairs' {
    AfterAll {
        Get-VfKeyPair | Remove-VfKeyPair -Confirm:$false
    }

    It 'makes an ed25519 key pair whose private key only its owner reads' {
        $pair = New-VfKeyPair (Get-VfTestName ops)
        $pair.PublicKey | Should -BeLike 'ssh-ed25519 *'
        $pair.Fingerprint | Should -BeLike 'SHA256:*'
        if ($IsLinux -or $IsMacOS) {
            (Get-Item $pair.PrivateKeyFile).UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
        }
        (Get-VfKeyPair $pair.Name).Fingerprint | Should -Be $pair.Fingerprint
    }

    It 'refuses an existing name with KeyPairExists and replaces it with -Force' {
        $name = Get-VfTestName dup
        $first = New-VfKeyPair $name
        { New-VfKeyPair $name -ErrorAction Stop } | Should -Throw -ErrorId 'KeyPairExists,*'
        (New-VfKeyPair $name -Force -Confirm:$false).Fingerprint | Should -Not -Be $first.Fingerprint
    }

    It 'imports a public key' {
        $source = New-VfKeyPair (Get-VfTestName src)
        $imported = Import-VfKeyPair -Name (Get-VfTestName imported) -PublicKey $source.PublicKey
        $imported.Fingerprint | Should -Be $source.Fingerprint
    }

    It 'refuses a public key that is not one with PublicKeyInvalid' {
        { Import-VfKeyPair -Name (Get-VfTestName bad) -PublicKey 'ssh-ed25519 not-base64!' -ErrorAction Stop } |
            Should -Throw -ErrorId 'PublicKeyInvalid,*'
    }

    It 'keeps a key pair under -WhatIf and removes it with -Confirm:$false' {
        $name = Get-VfTestName gone
        New-VfKeyPair $name | Out-Null
        Remove-VfKeyPair $name -WhatIf
        Get-VfKeyPair $name | Should -Not -BeNullOrEmpty
        Remove-VfKeyPair $name -Confirm:$false
        Get-VfKeyPair | Where-Object Name -EQ $name | Should -BeNullOrEmpty
    }

    It 'reports a missing key pair with KeyPairNotFound from Remove-VfKeyPair' {
        { Remove-VfKeyPair nosuch-key -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'KeyPairNotFound,*'
    }

    It 'reports a missing key pair with KeyPairNotFound from Get-VfKeyPair' {
        { Get-VfKeyPair nosuch-key -ErrorAction Stop } | Should -Throw -ErrorId 'KeyPairNotFound,*'
    }

    It 'completes -KeyPair on New-VfInstance and -Name on Remove-VfKeyPair' {
        $name = Get-VfTestName tab
        New-VfKeyPair $name | Out-Null
        Get-VfCompletion 'New-VfInstance -Image x -KeyPair tab-' | Should -Contain $name
        Get-VfCompletion 'Remove-VfKeyPair -Name tab-' | Should -Contain $name
    }

    It 'converts to JSON without the private key' {
        New-VfKeyPair (Get-VfTestName json) | Out-Null
        $json = Get-VfKeyPair | ConvertTo-Json
        $json | Should -Not -Match 'PRIVATE KEY'
        @($json | ConvertFrom-Json).Count | Should -BeGreaterThan 0
    }
}

Describe 'Instance types' {
    It 'lists the types with their sizes in a table' {
        $table = Get-VfInstanceType | ConvertTo-VfTable
        $table | Should -Match '(?m)^Name\s+Vcpus\s+MemoryMiB\s+DiskGiB'
        $table | Should -Match 't1\.micro\s+1\s+256'
    }

    It 'sorts and selects by size' {
        $largest = Get-VfInstanceType | Sort-Object MemoryMiB -Descending | Select-Object -First 1
        $largest.Name | Should -Be 'm1.xlarge'
    }

    It 'completes -InstanceType' {
        Get-VfCompletion 'New-VfInstance -Image x -InstanceType m1.' | Should -Be 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge'
        Get-VfCompletion 'New-VfInstance -Image x -InstanceType t' | Should -Be 't1.micro'
    }

    It 'reports an unknown type with InstanceTypeNotFound' {
        { Get-VfInstanceType m9.huge -ErrorAction Stop } | Should -Throw -ErrorId 'InstanceTypeNotFound,*'
    }
}
